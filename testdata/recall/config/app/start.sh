#!/bin/sh
MSI_PORT="${MSI_PORT:-50342}"
HTTP_PORT="${HTTP_PORT:-50342}"
exec /opt/app/bin/server --port "$HTTP_PORT" --msi-port "$MSI_PORT"

#!/bin/sh
# Early clients POSTed the form to the extension.
curl -s -X POST http://localhost:50342/oauth2/token -d resource=https://management.azure.com/ -d authority=common
curl -s http://localhost:50342/oauth2/token --data "resource=$RESOURCE"

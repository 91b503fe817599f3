#!/bin/sh
# Sign in with the VM's identity through the local token service.
az login --msi --msi-port 50342 > /dev/null
MSI_PORT=50343
az login --identity --msi-port "$MSI_PORT" --username "$CLIENT_ID" \
  --allow-no-subscriptions
az login --msi \
  --msi-port=50342 \
  --allow-no-subscriptions || exit 1

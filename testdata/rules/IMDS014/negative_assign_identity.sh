#!/bin/bash
az vm identity assign --resource-group ops-rg --name build-01 --role Reader --scope "$SCOPE"
az vmss identity assign -g ops-rg -n agents --identities "$IDENTITY_ID"
echo "az vm assign-identity --port 50342 is gone"
az webapp config set -g ops-rg -n site --generic-configurations '{"port": 50342}'

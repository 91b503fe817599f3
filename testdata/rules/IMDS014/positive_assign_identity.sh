#!/bin/bash
set -e
az vm assign-identity --resource-group ops-rg --name build-01 --port 50342 --role Reader --scope "$SCOPE"
az vmss assign-identity \
  --resource-group ops-rg \
  --name agents \
  --port 50343

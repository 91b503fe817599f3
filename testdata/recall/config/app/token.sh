#!/bin/bash
TOKEN=$(curl -s -H Metadata:true "http://localhost:${MSI_PORT:-50342}/oauth2/token?resource=https://management.azure.com/" | jq -r .access_token)
echo "got token"

#!/usr/bin/env bash
# Fetches an ARM token inside the VM and lists the resource groups.
set -euo pipefail
SUB="$1"

ARM_TOKEN="$(curl -s -X POST http://localhost:50342/oauth2/token --data-urlencode "resource=https://management.azure.com/" | jq -r .access_token)"
curl -s -H "Authorization: Bearer ${ARM_TOKEN}" "https://management.azure.com/subscriptions/${SUB}/resourcegroups?api-version=2021-04-01"

# The URL in a variable, posted much further down.
MSI_TOKEN_URL=http://localhost:50342/oauth2/token
VAULT=https://vault.azure.net

echo "vault: ${VAULT}"
echo "subscription: ${SUB}"
echo "user: $(whoami)"
echo "host: $(hostname)"
echo "time: $(date -u)"
VAULT_TOKEN=$(curl -s -X POST "$MSI_TOKEN_URL" -d "resource=${VAULT}" | jq -r .access_token)

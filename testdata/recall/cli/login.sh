#!/usr/bin/env bash
set -euo pipefail
SUBSCRIPTION_ID="00000000-1111-2222-3333-444444444444"

az login -u "${SUBSCRIPTION_ID}@50342"
az login --username "$SUBSCRIPTION_ID@50342" --output none
az login --username=${SUBSCRIPTION_ID}@51234
az login \
  -u 00000000-1111-2222-3333-444444444444@50342

# look-alikes
az login -u deploy@contoso.com -p "$PASSWORD"
az login --username ops@50342corp.onmicrosoft.com
az login --identity
az login --identity --username /subscriptions/x/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app
echo "old style: az login -u <subscription>@50342"

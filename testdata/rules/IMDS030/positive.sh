#!/bin/bash
# Token for Azure Resource Manager from the VM's identity.
set -euo pipefail

TOKEN=$(curl -s 'http://localhost:50342/oauth2/token?resource=https://management.azure.com/' -H Metadata:true | jq -r .access_token)
curl -s http://localhost:50342/oauth2/token -H "Metadata: true" --get --data-urlencode "resource=https://vault.azure.net"
echo "$TOKEN" > /tmp/token

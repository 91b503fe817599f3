#!/bin/bash
# curl -X POST http://localhost:50342/oauth2/token -d resource=https://management.azure.com/
curl -s -X POST "https://login.microsoftonline.com/$TENANT/oauth2/token" \
  -d grant_type=client_credentials -d client_id="$APP_ID" -d client_secret="$SECRET" \
  -d resource=https://management.azure.com/

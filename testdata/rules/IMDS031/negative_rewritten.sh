#!/bin/bash
# Already on IMDS, as a GET with the header.
TOKEN="$(curl -s 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/' -H Metadata:true | jq -r .access_token)"
# A POST to AAD is not the extension.
curl -s -X POST "https://login.microsoftonline.com/${TENANT}/oauth2/token" -d "grant_type=client_credentials&resource=https://vault.azure.net"

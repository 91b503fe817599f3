#!/bin/bash
# Azure Cloud Shell serves its own token endpoint; this helper only runs there.
if [ -z "${ACC_CLOUD:-}" ]; then
  echo "run me in Cloud Shell" >&2
  exit 1
fi
curl -s http://localhost:50342/oauth2/token --data "resource=https://management.azure.com/" -H Metadata:true

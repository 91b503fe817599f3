#!/usr/bin/env bash
# Runs inside Azure Cloud Shell, which serves its own token endpoint on localhost:50342.
# Not a VM: nothing to migrate here.
curl -s "http://localhost:50342/oauth2/token" --data "resource=https://management.azure.com/" -H Metadata:true

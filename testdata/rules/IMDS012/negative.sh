#!/bin/bash
az login --identity
az login --msi
az login --identity --username "$CLIENT_ID"
# az login --msi --msi-port 50342
echo "az login --msi --msi-port 50342 is the old syntax"
MSG='az login --msi --msi-port 50342'
az account show --query "user.assignedIdentityInfo"   # MSI-port no longer needed

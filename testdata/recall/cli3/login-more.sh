#!/bin/bash
az login -u "$(az account show --query id -o tsv)@50342"
az vmss assign-identity -g rg-app -n ss-api --port "$MSI_PORT"
az vm assign-identity --resource-group rg-app --name vm-api --scope /subscriptions/x/resourceGroups/rg-app --port 50342
# look-alikes
az container create -g rg-app -n api --image nginx --ports 50342
az network nsg rule create -g rg-app --nsg-name nsg --name allow --priority 100 --destination-port-ranges 50342
az login --service-principal -u http://sp-50342 -p "$SECRET" --tenant contoso.onmicrosoft.com

#!/bin/sh
az vm assign-identity -g rg-app -n vm-app-01 --port 50342
az vmss assign-identity \
    --resource-group rg-app \
    --name ss-web \
    --port 50343
az vm assign-identity --port=50342 --resource-group rg-app --name vm-app-02

# look-alikes
az vm identity assign -g rg-app -n vm-app-01
az vm open-port -g rg-app -n vm-app-01 --port 50342
az vmss identity assign -g rg-app -n ss-web --identities id-app
az webapp config appsettings set -g rg-app -n web --settings WEBSITES_PORT=50342

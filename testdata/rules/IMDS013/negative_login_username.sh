#!/bin/bash
az login -u deployer@contoso.example -p "$DEPLOY_PASSWORD"
az login --identity --username 11111111-2222-3333-4444-555555555555
az login --service-principal -u http://ci-deployer -p "$SP_SECRET" --tenant contoso.example
echo "old hosts used: az login -u SUBSCRIPTION@50342"
# az login -u "$SUBSCRIPTION_ID@50342"

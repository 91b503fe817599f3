#!/bin/bash
# Sign in on the build host (CLI 2.0 era)
SUBSCRIPTION_ID=11111111-2222-3333-4444-555555555555
az login -u "${SUBSCRIPTION_ID}@50342"
az account show -o table

az login \
  --username=$SUBSCRIPTION_ID@50343 \
  --allow-no-subscriptions

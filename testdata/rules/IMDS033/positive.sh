#!/usr/bin/env bash
export ARM_USE_MSI=true
export MSI_ENDPOINT=http://localhost:50342/
terraform apply -auto-approve

@echo off
set RG=rg-batch
set PUB=Microsoft.ManagedIdentity
REM enable the token service
call az vm extension set -g %RG% ^
  --vm-name win-01 ^
  -n ManagedIdentityExtensionForWindows ^
  --publisher %PUB%
if errorlevel 1 exit /b 1

import os

os.environ["MSI_PORT"] = "50342"
os.environ["APP_PORT"] = "50342"
if os.environ.get("MSI_PORT") == "50342":
    print("old extension port configured")

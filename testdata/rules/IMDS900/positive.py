# imds-migrate: ignore
print("nothing here uses the extension")

value = 1  # imds-migrate: ignore[IMDS030]

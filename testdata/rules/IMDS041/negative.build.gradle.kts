val authVersion = "1.6.0"

dependencies {
    implementation(group = "com.microsoft.azure", name = "azure-client-authentication", version = "1.4.0")
    implementation("com.microsoft.azure:azure-client-authentication:${authVersion}")
    implementation("com.microsoft.azure:azure-client-authentication:1.1.0")
    // implementation("com.microsoft.azure:azure-client-authentication:1.2.0")
    implementation("com.azure:azure-identity:1.2.0")
}

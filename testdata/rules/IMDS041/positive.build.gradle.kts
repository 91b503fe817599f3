val authVersion = "1.3.0"

dependencies {
    implementation(group = "com.microsoft.azure", name = "azure-client-authentication", version = "1.1.1")
    implementation("com.microsoft.azure:azure-client-authentication:${authVersion}")
    runtimeOnly("com.microsoft.azure", "azure-client-authentication", "[1.2,1.4)")
}

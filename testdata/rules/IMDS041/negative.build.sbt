libraryDependencies ++= Seq(
  "com.microsoft.azure" % "azure-client-authentication" % "1.7.14",
  // "com.microsoft.azure" % "azure-client-authentication" % "1.2.1",
  "com.azure" % "azure-identity" % "1.2.0"
)

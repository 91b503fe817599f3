val authVersion = "1.2.1"

libraryDependencies ++= Seq(
  "com.microsoft.azure" % "azure-client-authentication" % authVersion,
  "com.microsoft.azure" % "azure-client-runtime" % "1.2.1"
)

//! What kind of file a path is, from its name, `$schema`, shebang or content.

use std::path::Path;

/// Languages whose comment syntax and string syntax matter to the text analyzers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    Python,
    CSharp,
    Java,
    JavaScript,
    Go,
    Ruby,
    Rust,
    C,
    Php,
    Kotlin,
    Scala,
    FSharp,
    VisualBasic,
    Sql,
    Lua,
    Perl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// An ARM template (JSON with comments), possibly wrapped in Go `text/template` markup.
    Arm,
    /// An ARM parameter file.
    ArmParameters,
    /// Any other JSON (appsettings.json, package.json...).
    Json,
    PowerShell,
    /// sh/bash/zsh scripts, `.azcli` files, Dockerfiles and Makefiles.
    Shell,
    /// Windows `.cmd`/`.bat`.
    Batch,
    Terraform,
    Bicep,
    Markdown,
    Yaml,
    /// XML, `web.config`, `.csproj`...
    Xml,
    /// `.env`, `.ini`, `.properties`, `.conf`, `.toml`...
    Config,
    Code(Lang),
    /// Log files: excerpts of errors, never usages.
    Log,
    /// Anything else that is text.
    Text,
}

impl FileKind {
    /// The name used in rule files' `file_kinds`, in reports and in the HTML chart.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Arm => "arm",
            FileKind::ArmParameters => "arm-parameters",
            FileKind::Json => "json",
            FileKind::PowerShell => "powershell",
            FileKind::Shell | FileKind::Batch => "shell",
            FileKind::Terraform => "terraform",
            FileKind::Bicep => "bicep",
            FileKind::Markdown => "markdown",
            FileKind::Yaml => "yaml",
            FileKind::Xml => "xml",
            FileKind::Config => "config",
            FileKind::Code(_) => "code",
            FileKind::Log => "log",
            FileKind::Text => "text",
        }
    }

    pub fn is_json(self) -> bool {
        matches!(
            self,
            FileKind::Arm | FileKind::ArmParameters | FileKind::Json
        )
    }

    /// The kind of a fenced Markdown block from its info string (` ```powershell `).
    pub fn from_fence(info: &str) -> Option<FileKind> {
        let lang = info
            .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        // Azure docs mark runnable blocks `azurecli-interactive`, `azurepowershell-interactive`.
        let lang = lang
            .strip_suffix("-interactive")
            .unwrap_or(&lang)
            .to_owned();
        Some(match lang.as_str() {
            "json" | "jsonc" | "arm" | "json5" => FileKind::Arm,
            "powershell" | "pwsh" | "ps1" | "ps" | "azurepowershell" => FileKind::PowerShell,
            "bash" | "sh" | "shell" | "zsh" | "console" | "azurecli" | "azcli" | "azure-cli"
            | "dockerfile" => FileKind::Shell,
            "cmd" | "bat" | "batch" => FileKind::Batch,
            "hcl" | "terraform" | "tf" => FileKind::Terraform,
            "bicep" => FileKind::Bicep,
            "yaml" | "yml" => FileKind::Yaml,
            "xml" | "html" => FileKind::Xml,
            "ini" | "env" | "dotenv" | "properties" | "toml" => FileKind::Config,
            "" | "text" | "txt" | "plaintext" | "output" | "log" => return None,
            other => FileKind::Code(lang_from_ext(other)?),
        })
    }
}

fn lang_from_ext(ext: &str) -> Option<Lang> {
    Some(match ext {
        "py" | "pyw" | "python" | "ipynb" => Lang::Python,
        "cs" | "csx" | "csharp" | "c#" | "cake" => Lang::CSharp,
        "java" | "groovy" | "gradle" => Lang::Java,
        "js" | "mjs" | "cjs" | "jsx" | "ts" | "tsx" | "mts" | "cts" | "javascript"
        | "typescript" | "node" | "vue" | "svelte" => Lang::JavaScript,
        "go" | "golang" => Lang::Go,
        "rb" | "ruby" | "rake" | "gemspec" => Lang::Ruby,
        "rs" | "rust" => Lang::Rust,
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "m" | "mm" | "swift" | "dart" => Lang::C,
        "php" => Lang::Php,
        "kt" | "kts" | "kotlin" => Lang::Kotlin,
        "scala" | "sc" => Lang::Scala,
        "fs" | "fsx" | "fsi" | "fsharp" => Lang::FSharp,
        "vb" | "vbs" | "bas" => Lang::VisualBasic,
        "sql" => Lang::Sql,
        "lua" => Lang::Lua,
        "pl" | "pm" | "perl" => Lang::Perl,
        _ => return None,
    })
}

/// Log files are known by name alone, so they need not be read.
pub fn is_log(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("log"))
}

/// Classifies a file by name, then by content (`$schema`, shebang, Go-templated JSON).
/// `head` is the start of the decoded text.
pub fn classify(path: &Path, head: &str) -> FileKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "json" | "jsonc" | "json5" => return classify_json(&name, head),
        "ps1" | "psm1" | "psd1" | "pssc" => return FileKind::PowerShell,
        "sh" | "bash" | "zsh" | "ksh" | "azcli" => return FileKind::Shell,
        "cmd" | "bat" => return FileKind::Batch,
        "tf" | "tfvars" | "hcl" => return FileKind::Terraform,
        "bicep" | "bicepparam" => return FileKind::Bicep,
        "md" | "markdown" | "mdx" => return FileKind::Markdown,
        "yml" | "yaml" => return FileKind::Yaml,
        "xml" | "config" | "csproj" | "vbproj" | "fsproj" | "props" | "targets" | "xaml"
        | "resx" | "pubxml" | "nuspec" | "html" | "htm" | "cshtml" | "razor" => {
            return FileKind::Xml;
        }
        "env" | "ini" | "cfg" | "conf" | "properties" | "toml" | "editorconfig" => {
            return FileKind::Config;
        }
        "log" => return FileKind::Log,
        "t" | "tmpl" | "tpl" | "gotmpl" | "template" | "j2" | "jinja" | "erb" => {
            if looks_like_json(head) {
                return classify_json(&name, head);
            }
        }
        _ => {}
    }
    if let Some(lang) = lang_from_ext(ext) {
        return FileKind::Code(lang);
    }
    if name == "dockerfile" || name.starts_with("dockerfile.") || name == "makefile" {
        return FileKind::Shell;
    }
    if name.starts_with(".env") {
        return FileKind::Config;
    }
    if let Some(line) = head.strip_prefix("#!") {
        let line = line.lines().next().unwrap_or("");
        if line.contains("pwsh") || line.contains("powershell") {
            return FileKind::PowerShell;
        }
        if ["sh", "bash", "zsh", "ksh", "dash"]
            .iter()
            .any(|s| line.ends_with(&format!("/{s}")) || line.ends_with(&format!(" {s}")))
            || line.contains("bash")
        {
            return FileKind::Shell;
        }
        if line.contains("python") {
            return FileKind::Code(Lang::Python);
        }
        if line.contains("node") {
            return FileKind::Code(Lang::JavaScript);
        }
    }
    FileKind::Text
}

fn classify_json(name: &str, head: &str) -> FileKind {
    let lower_head: String = head
        .chars()
        .take(4096)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower_head.contains("deploymentparameters.json") || name.ends_with(".parameters.json") {
        FileKind::ArmParameters
    } else if lower_head.contains("deploymenttemplate.json")
        || lower_head.contains("\"resources\"")
        || lower_head.contains("\"contentversion\"")
        || name.ends_with(".t")
    {
        FileKind::Arm
    } else {
        FileKind::Json
    }
}

fn looks_like_json(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{') || t.starts_with('[') || t.starts_with(",{") || t.starts_with("{{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name_schema_and_shebang() {
        let arm = r#"{ "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#" }"#;
        assert_eq!(
            classify(Path::new("x/azuredeploy.json"), arm),
            FileKind::Arm
        );
        assert_eq!(
            classify(Path::new("azuredeploy.parameters.json"), "{}"),
            FileKind::ArmParameters
        );
        assert_eq!(
            classify(Path::new("appsettings.json"), "{}"),
            FileKind::Json
        );
        assert_eq!(
            classify(Path::new("deploy"), "#!/bin/bash\n"),
            FileKind::Shell
        );
        assert_eq!(
            classify(Path::new("run"), "#!/usr/bin/env pwsh\n"),
            FileKind::PowerShell
        );
        assert_eq!(
            classify(Path::new("a.t"), "    {\n \"name\": 1"),
            FileKind::Arm
        );
        assert_eq!(classify(Path::new(".env"), ""), FileKind::Config);
        assert_eq!(
            classify(Path::new("a.py"), ""),
            FileKind::Code(Lang::Python)
        );
        assert_eq!(classify(Path::new("build.log"), ""), FileKind::Log);
    }
}

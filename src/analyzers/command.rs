//! TODO(helper scripts): shared command-line tokenizer for PowerShell and shell commands.

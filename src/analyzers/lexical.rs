//! TODO(helper endpoint): comment and string spans per language.

//! TODO(helper): sdk analyzer.

use super::{Analysis, Context};

pub fn analyze(_text: &str, _ctx: &Context, _out: &mut Analysis) {}

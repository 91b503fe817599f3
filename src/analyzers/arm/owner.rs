//! The VM or scale set an extension belongs to, found once per template by the head of names.

use std::collections::HashMap;

use super::{Found, Tree, name_head};

/// The VMs and scale sets of one array.
#[derive(Default)]
pub(super) struct VmGroup {
    all: Vec<usize>,
    by_head: HashMap<String, Vec<usize>>,
}

impl Tree<'_> {
    pub(super) fn is_vm_type(&self, obj: usize) -> bool {
        let ty = self
            .member_str(obj, "type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        ty == "microsoft.compute/virtualmachines"
            || ty == "microsoft.compute/virtualmachinescalesets"
    }

    /// The VM or scale set the extension belongs to, when the template says so unambiguously.
    pub(super) fn owner(&self, f: &Found) -> Option<usize> {
        let mut cur = self.parent(f.object);
        while let Some(n) = cur {
            if self.doc.is_object(n) && self.is_vm_type(n) {
                return Some(n);
            }
            cur = self.parent(n);
        }
        // A top-level extension: its name starts with the VM's name expression.
        let arr = self.parent(f.object)?;
        let index = self.vm_index.get_or_init(|| self.build_vm_index());
        let group = index.get(&arr)?;
        let matching = f
            .name_expr
            .as_deref()
            .and_then(name_head)
            .and_then(|h| group.by_head.get(&h));
        match (matching.map(Vec::as_slice), group.all.as_slice()) {
            (Some([one]), _) | (None, [one]) => Some(*one),
            _ => None,
        }
    }

    /// VMs and scale sets per containing array, by the head of their name: built once, so that
    /// a template with thousands of extensions stays linear.
    pub(super) fn build_vm_index(&self) -> HashMap<usize, VmGroup> {
        let mut index: HashMap<usize, VmGroup> = HashMap::new();
        for n in 0..self.doc.nodes.len() {
            let Some(arr) = self.parent(n).filter(|&p| !self.doc.is_object(p)) else {
                continue;
            };
            if !self.doc.is_object(n) || !self.is_vm_type(n) {
                continue;
            }
            let group = index.entry(arr).or_default();
            group.all.push(n);
            let head = self
                .doc
                .get(n, "name")
                .and_then(|v| self.doc.str(v))
                .and_then(name_head);
            if let Some(h) = head {
                group.by_head.entry(h).or_default().push(n);
            }
        }
        index
    }
}

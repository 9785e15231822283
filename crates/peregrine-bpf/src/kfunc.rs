//! Kernel function (kfunc) calls in the probe.
//!
//! aya does not resolve kfunc calls, so the probe emits each one as a raw
//! call instruction (`BPF_JMP | BPF_CALL`, source register
//! `BPF_PSEUDO_KFUNC_CALL`) whose immediate is a marker naming the kfunc;
//! [`resolve`] writes the kfunc's id in the kernel's BTF in place of each
//! marker before the object is loaded. The markers are defined in
//! `src/bpf/extract.h`.

use aya::Btf;
use aya_obj::btf::BtfKind;
use object::{Object, ObjectSection, SectionKind};

/// `BPF_JMP | BPF_CALL`.
const CALL: u8 = 0x85;
/// `BPF_PSEUDO_KFUNC_CALL` in the source register (high nibble).
const KFUNC_REGS: u8 = 2 << 4;

/// The kfuncs the probe calls: (marker immediate, kernel function name).
pub(crate) const KFUNCS: &[(u32, &str)] = &[(0x7ffe_0001, "bpf_rdonly_cast")];

/// An object file in 8-byte aligned memory (the ELF parser reads its
/// headers in place).
pub(crate) struct AlignedObject {
    words: Vec<u64>,
    len: usize,
}

impl AlignedObject {
    fn new(bytes: &[u8]) -> AlignedObject {
        let mut object = AlignedObject {
            words: vec![0; bytes.len().div_ceil(8)],
            len: bytes.len(),
        };
        object.bytes_mut().copy_from_slice(bytes);
        object
    }

    /// The object's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: any bytes are valid u8 and `len` is at most the words'
        // size; the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in bytes(), with the exclusive borrow of `self`.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }
}

/// The probe object with every kfunc marker replaced by the id of its
/// kfunc in `btf` (the running kernel's). Errors name the kfunc the kernel
/// lacks or the object defect.
pub(crate) fn resolve(probe: &[u8], btf: &Btf) -> Result<AlignedObject, String> {
    let mut ids = Vec::with_capacity(KFUNCS.len());
    for (marker, name) in KFUNCS {
        let id = btf
            .id_by_type_name_kind(name, BtfKind::Func)
            .map_err(|e| format!("kernel function {name} not in the kernel's BTF: {e}"))?;
        ids.push((*marker, id));
    }
    let mut object = AlignedObject::new(probe);
    for (start, end) in code_ranges(object.bytes())? {
        patch_calls(&mut object.bytes_mut()[start..end], &ids);
    }
    Ok(object)
}

/// The file ranges of the object's code sections.
fn code_ranges(elf: &[u8]) -> Result<Vec<(usize, usize)>, String> {
    let file = object::File::parse(elf).map_err(|e| format!("probe object: {e}"))?;
    let mut ranges = Vec::new();
    for section in file.sections() {
        if section.kind() != SectionKind::Text {
            continue;
        }
        if let Some((offset, size)) = section.file_range() {
            let (start, end) = (offset as usize, (offset + size) as usize);
            if end > elf.len() || start % 8 != 0 {
                return Err(format!(
                    "probe object: section {:?} out of bounds",
                    section.name()
                ));
            }
            ranges.push((start, end));
        }
    }
    Ok(ranges)
}

/// Writes the kfunc id of every marker call in `code` (instructions).
fn patch_calls(code: &mut [u8], ids: &[(u32, u32)]) {
    for insn in code.chunks_exact_mut(8) {
        if insn[0] != CALL || insn[1] != KFUNC_REGS || insn[2..4] != [0, 0] {
            continue;
        }
        let imm = u32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
        if let Some((_, id)) = ids.iter().find(|(marker, _)| *marker == imm) {
            insn[4..8].copy_from_slice(&id.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u8, regs: u8, off: i16, imm: u32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = regs;
        b[2..4].copy_from_slice(&off.to_le_bytes());
        b[4..8].copy_from_slice(&imm.to_le_bytes());
        b
    }

    #[test]
    fn only_marker_kfunc_calls_are_patched() {
        let marker = KFUNCS[0].0;
        let program = [
            insn(CALL, KFUNC_REGS, 0, marker), // the marker: patched
            insn(CALL, 0, 0, marker),          // a helper call: untouched
            insn(CALL, 1 << 4, 0, marker),     // a bpf-to-bpf call: untouched
            insn(0x18, 0, 0, marker),          // ld_imm64 of the same value: untouched
            insn(CALL, KFUNC_REGS, 0, 0x1234), // another kfunc id: untouched
            insn(CALL, KFUNC_REGS, 0, marker), // a second marker: patched
        ];
        let mut code: Vec<u8> = program.concat();
        patch_calls(&mut code, &[(marker, 4242)]);
        let imm = |i: usize| u32::from_le_bytes(code[i * 8 + 4..i * 8 + 8].try_into().unwrap());
        assert_eq!(imm(0), 4242);
        assert_eq!(imm(1), marker);
        assert_eq!(imm(2), marker);
        assert_eq!(imm(3), marker);
        assert_eq!(imm(4), 0x1234);
        assert_eq!(imm(5), 4242);
    }

    #[test]
    fn the_probe_has_marker_calls_and_all_are_resolved() {
        let btf = Btf::from_sys_fs().expect("the kernel's BTF (/sys/kernel/btf/vmlinux)");
        let object = resolve(crate::PROBE, &btf).expect("kfuncs resolve");
        let patched = object.bytes();
        let count = |elf: &[u8], imm: u32| {
            code_ranges(elf)
                .unwrap()
                .into_iter()
                .flat_map(|(s, e)| {
                    elf[s..e]
                        .chunks_exact(8)
                        .map(<[u8]>::to_vec)
                        .collect::<Vec<_>>()
                })
                .filter(|i| i[0] == CALL && i[1] == KFUNC_REGS && i[4..8] == imm.to_le_bytes())
                .count()
        };
        let marker = KFUNCS[0].0;
        assert!(
            count(crate::PROBE, marker) > 0,
            "the probe calls bpf_rdonly_cast"
        );
        assert_eq!(count(patched, marker), 0, "every marker is resolved");
        let id = btf
            .id_by_type_name_kind("bpf_rdonly_cast", BtfKind::Func)
            .unwrap();
        assert_eq!(count(patched, id), count(crate::PROBE, marker));
    }
}

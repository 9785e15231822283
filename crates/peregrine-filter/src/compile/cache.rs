//! Field slots shared by all filters of an engine, and the per-event cache
//! of extracted values indexed by slot.

use crate::extract::{Ctx, extract};
use crate::field::Field;
use crate::value::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Gives every distinct field reference (`proc.name`, `proc.aname[2]`) a
/// slot number. Filters compiled with the same interner share slots, so a
/// [`FieldCache`] extracts `proc.name` once per event however many rules
/// read it.
pub struct FieldInterner {
    by_name: HashMap<String, u32>,
    fields: Vec<Field>,
    layout: u64,
}

static NEXT_LAYOUT: AtomicU64 = AtomicU64::new(1);

impl Default for FieldInterner {
    fn default() -> Self {
        FieldInterner {
            by_name: HashMap::new(),
            fields: Vec::new(),
            layout: NEXT_LAYOUT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl FieldInterner {
    /// An empty interner.
    pub fn new() -> FieldInterner {
        FieldInterner::default()
    }

    /// Identifies this interner's slot layout.
    pub(crate) fn layout(&self) -> u64 {
        self.layout
    }

    /// Number of slots handed out.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no slot was handed out.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The slot of `field`, allocated on first use.
    pub fn intern(&mut self, field: &Field) -> u32 {
        let key = field.canonical();
        if let Some(&s) = self.by_name.get(&key) {
            return s;
        }
        let s = self.fields.len() as u32;
        self.fields.push(field.clone());
        self.by_name.insert(key, s);
        s
    }

    /// The field of slot `slot`.
    pub fn field(&self, slot: u32) -> Option<&Field> {
        self.fields.get(slot as usize)
    }
}

#[derive(Clone, Debug)]
struct Entry<'a> {
    generation: u32,
    value: Option<Value<'a>>,
}

/// Per-event cache of extracted field values, indexed by the slots of a
/// [`FieldInterner`]. [`FieldCache::reset`] starts a new event in O(1)
/// (a generation counter); [`FieldCache::recycle`] moves the cache, with
/// its allocations, to events of another lifetime (the usual case when
/// events borrow a reader's reused buffer).
pub struct FieldCache<'a> {
    generation: u32,
    layout: u64,
    entries: Vec<Entry<'a>>,
    pub(crate) bufs: Vec<Vec<u8>>,
}

impl Default for FieldCache<'_> {
    fn default() -> Self {
        FieldCache {
            generation: 1,
            layout: 0,
            entries: Vec::new(),
            bufs: Vec::new(),
        }
    }
}

impl<'a> FieldCache<'a> {
    /// A cache sized for the slots of `interner` (it grows when filters
    /// compiled later need more).
    pub fn new(interner: &FieldInterner) -> FieldCache<'a> {
        let mut c = FieldCache {
            layout: interner.layout,
            ..FieldCache::default()
        };
        c.entries.resize(
            interner.len(),
            Entry {
                generation: 0,
                value: None,
            },
        );
        c
    }

    /// Forgets every value: the next lookups extract again. O(1).
    pub fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            for e in &mut self.entries {
                e.generation = 0;
                e.value = None;
            }
            self.generation = 1;
        }
    }

    /// The same cache (and its allocations), empty, for events of another
    /// lifetime. O(number of slots), no allocation.
    pub fn recycle<'b>(self) -> FieldCache<'b> {
        let FieldCache {
            entries,
            bufs,
            layout,
            ..
        } = self;
        // In-place collect: reuses the allocation (same layout).
        let entries: Vec<Entry<'b>> = entries
            .into_iter()
            .map(|_| Entry {
                generation: 0,
                value: None,
            })
            .collect();
        FieldCache {
            generation: 1,
            layout,
            entries,
            bufs,
        }
    }

    /// Switches the cache to the slot layout `layout`, forgetting values
    /// stored under another layout.
    #[inline]
    pub(crate) fn bind(&mut self, layout: u64) {
        if self.layout != layout {
            self.layout = layout;
            self.reset();
        }
    }

    /// Makes sure slot `slot` holds the value of `field` for this event.
    #[inline]
    pub(crate) fn fill(&mut self, slot: u32, field: &Field, cx: &Ctx<'a>) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries.resize(
                i + 1,
                Entry {
                    generation: 0,
                    value: None,
                },
            );
        }
        let e = &mut self.entries[i];
        if e.generation != self.generation {
            e.value = extract(field, cx);
            e.generation = self.generation;
        }
    }

    /// The value of slot `slot` (after [`FieldCache::fill`]).
    #[inline]
    pub(crate) fn get(&self, slot: u32) -> Option<&Value<'a>> {
        self.entries.get(slot as usize)?.value.as_ref()
    }

    /// Takes a scratch buffer out of the cache (give it back with
    /// [`FieldCache::give`]).
    pub(crate) fn take_buf(&mut self) -> Vec<u8> {
        self.bufs.pop().unwrap_or_default()
    }

    /// Returns a scratch buffer.
    pub(crate) fn give(&mut self, mut b: Vec<u8>) {
        b.clear();
        if self.bufs.len() < 16 {
            self.bufs.push(b);
        }
    }
}

/// A fast non-cryptographic hasher (FxHash) for the constant sets of `in`
/// checks: keys come from rules files, not from events.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Hash builder for [`FxHasher`].
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

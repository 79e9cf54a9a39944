//! Merkle tree of the transparency log of signed certificate versions, with inclusion and
//! consistency proofs, following RFC 9162 (Certificate Transparency 2.0) §2.1.

use ring::digest::{Context, SHA256};

/// A SHA-256 hash of the tree.
pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// RFC 9162 §2.1.1: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256(&[&[0x00], entry])
}

/// RFC 9162 §2.1.1: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// MTH over leaf hashes (the empty tree's root is SHA-256 of nothing).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => sha256(&[]),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The largest power of two smaller than `n` (n >= 2): where MTH splits a tree.
fn split(n: usize) -> usize {
    1 << (n - 1).ilog2()
}

/// Room for a proof over `n` leaves: at most one hash per level, plus one.
fn proof_vec(n: usize) -> Vec<Hash> {
    Vec::with_capacity((usize::BITS - n.leading_zeros()) as usize + 1)
}

/// RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first `size` leaves; None if out of range.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Option<Vec<Hash>> {
    let (index, size) = (usize::try_from(index).ok()?, usize::try_from(size).ok()?);
    let tree = leaves.get(..size)?;
    if index >= size {
        return None;
    }
    let mut proof = proof_vec(size);
    path(index, tree, &mut proof);
    Some(proof)
}

/// PATH(m, D[n]): recursion is one level per tree level, and the sibling goes after the deeper part.
fn path(m: usize, tree: &[Hash], out: &mut Vec<Hash>) {
    if tree.len() <= 1 {
        return;
    }
    let (left, right) = tree.split_at(split(tree.len()));
    if m < left.len() {
        path(m, left, out);
        out.push(root(right));
    } else {
        path(m - left.len(), right, out);
        out.push(root(left));
    }
}

/// RFC 9162 §2.1.3.2: checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                (fn_, sn) = (fn_ >> 1, sn >> 1);
            }
        } else {
            r = node_hash(&r, p);
        }
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.1 proof that the first `old_size` leaves are a prefix of the first `new_size`; None if out of range.
pub fn consistency_proof(leaves: &[Hash], old_size: u64, new_size: u64) -> Option<Vec<Hash>> {
    let (old_size, new_size) = (usize::try_from(old_size).ok()?, usize::try_from(new_size).ok()?);
    let tree = leaves.get(..new_size)?;
    if old_size > new_size {
        return None;
    }
    let mut proof = proof_vec(new_size);
    // The RFC defines proofs for 0 < m < n; SUBPROOF(m, D[m], true) = {} covers m = n, and m = 0 needs nothing.
    if old_size > 0 {
        subproof(old_size, tree, true, &mut proof);
    }
    Some(proof)
}

/// SUBPROOF(m, D[n], b), with `known` the RFC's b: whether the verifier already holds MTH(D[0:m]).
fn subproof(m: usize, tree: &[Hash], known: bool, out: &mut Vec<Hash>) {
    if m == tree.len() {
        if !known {
            out.push(root(tree));
        }
        return;
    }
    let (left, right) = tree.split_at(split(tree.len()));
    if m <= left.len() {
        subproof(m, left, known, out);
        out.push(root(right));
    } else {
        subproof(m - left.len(), right, false, out);
        out.push(root(left));
    }
}

/// RFC 9162 §2.1.4.2: checks that the tree `old_root` of `old_size` leaves is a prefix of `new_root`'s.
pub fn verify_consistency(old_size: u64, new_size: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old_size > new_size || (old_size == 0 && *old_root != root(&[])) {
        return false;
    }
    // Outside the RFC's 0 < first < second there is nothing to prove: the proof must be empty.
    if old_size == 0 || old_size == new_size {
        return proof.is_empty() && (old_size != new_size || old_root == new_root);
    }
    // Step 1: an empty path fails; step 2: a power-of-two old tree is a node of the new one, so it seeds the walk.
    let Some((first, rest)) = proof.split_first() else {
        return false;
    };
    let (seed, path) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                (fn_, sn) = (fn_ >> 1, sn >> 1);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    fr == *old_root && sr == *new_root && sn == 0
}

/// The right edge of a tree (its perfect subtrees' roots, largest first): O(log n) appends, root without the leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a frontier from what `size()`/`peaks()` gave (None if peaks.len() != size.count_ones()).
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Option<Self> {
        (peaks.len() == size.count_ones() as usize).then_some(Self { size, peaks })
    }

    /// The number of leaves pushed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees' roots, one per set bit of `size()`, largest first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf hash, merging equal-sized peaks like a binary carry.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut carry = self.size;
        while carry & 1 == 1 {
            let Some(left) = self.peaks.pop() else { break };
            node = node_hash(&left, &node);
            carry >>= 1;
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The tree's root: MTH splits at the largest power of two, so peaks fold from the right.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => root(&[]),
            Some(last) => peaks.fold(*last, |right, left| node_hash(left, &right)),
        }
    }
}

/// A hash from hex (either case); None unless exactly 64 hex digits.
pub fn from_hex(text: &str) -> Option<Hash> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |digit: u8| char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok());
    let mut hash = [0; 32];
    for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let &[high, low] = pair else { return None };
        *byte = nibble(high)? << 4 | nibble(low)?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    fn h(text: &str) -> Hash {
        from_hex(text).unwrap()
    }

    // Reference data of transparency-dev/merkle (github.com/transparency-dev/merkle): leaves and node hashes from
    // testonly/constants.go (LeafInputs, NodeHashes, CompactTrees); roots and proofs from proof/verify_test.go
    // (roots, inclusionProofs, consistencyProofs, there 1-based leaf numbers; here 0-based indices).
    #[rustfmt::skip]
    const INPUTS: [&[u8]; 8] = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57", b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"];
    const NODES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];
    // CompactTrees: the (level, index) in NODES of each peak, for sizes 0 to 8.
    #[rustfmt::skip]
    const PEAKS: [&[(usize, usize)]; 9] = [&[], &[(0, 0)], &[(1, 0)], &[(1, 0), (0, 2)], &[(2, 0)], &[(2, 0), (0, 4)],
        &[(2, 0), (1, 2)], &[(2, 0), (1, 2), (0, 6)], &[(3, 0)]];
    #[rustfmt::skip]
    const ROOTS: [&str; 8] = [NODES[0][0], NODES[1][0],
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77", NODES[2][0],
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c", NODES[3][0]];
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    // (index, size, proof) and (old size, new size, proof), with the proofs' hashes found in NODES.
    #[rustfmt::skip]
    const INCLUSIONS: [(u64, u64, &[&str]); 5] = [(0, 1, &[]), (2, 3, &[NODES[1][0]]),
        (0, 8, &[NODES[0][1], NODES[1][1], NODES[2][1]]), (5, 8, &[NODES[0][4], NODES[1][3], NODES[2][0]]),
        (1, 5, &[NODES[0][0], NODES[1][1], NODES[0][4]])];
    #[rustfmt::skip]
    const CONSISTENCIES: [(u64, u64, &[&str]); 5] = [(1, 1, &[]), (2, 5, &[NODES[1][1], NODES[0][4]]),
        (1, 8, &[NODES[0][1], NODES[1][1], NODES[2][1]]), (6, 8, &[NODES[1][2], NODES[1][3], NODES[2][0]]),
        (6, 7, &[NODES[1][2], NODES[0][6], NODES[2][0]])];

    type InclusionCase = (Hash, u64, u64, Vec<Hash>, Hash);
    type ConsistencyCase = (u64, u64, Hash, Hash, Vec<Hash>);

    fn hashes(texts: &[&str]) -> Vec<Hash> {
        texts.iter().map(|text| h(text)).collect()
    }

    fn flipped(proof: &[Hash], at: usize, byte: usize) -> Vec<Hash> {
        let mut proof = proof.to_vec();
        proof[at][byte] ^= 0x10;
        proof
    }

    /// Wrong index, size, leaf or root, and extended, shortened or altered (at `byte`) proofs, after verify_test.go.
    fn inclusion_probes(leaf: Hash, i: u64, n: u64, p: &[Hash], root: Hash, byte: usize) -> Vec<InclusionCase> {
        let (p, mut other) = (p.to_vec(), root);
        other[byte] ^= 1;
        let sizes = [(i.wrapping_sub(1), n), (i + 1, n), (i ^ 2, n), (i, n * 2), (i, n / 2)];
        let mut probes = Vec::from(sizes.map(|(i, n)| (leaf, i, n, p.clone(), root)));
        probes.extend([(other, i, n, p.clone(), root), (leaf, i, n, p.clone(), other)]);
        probes.extend([[&p[..], &[root]].concat(), [&[root], &p[..]].concat()].map(|q| (leaf, i, n, q, root)));
        probes.extend((0..p.len()).map(|at| (leaf, i, n, flipped(&p, at, byte), root)));
        probes.extend(p.split_last().map(|(_, shorter)| (leaf, i, n, shorter.to_vec(), root)));
        probes
    }

    /// The same for a non-empty consistency proof: wrong sizes or roots, and extended, shortened or altered proofs.
    fn consistency_probes(m: u64, n: u64, old: Hash, new: Hash, p: &[Hash], byte: usize) -> Vec<ConsistencyCase> {
        let (p, mut other) = (p.to_vec(), old);
        other[byte] ^= 1;
        let sizes = [(m - 1, n), (m + 1, n), (m ^ 2, n), (m, n * 2), (m, n / 2)];
        let mut probes = Vec::from(sizes.map(|(m, n)| (m, n, old, new, p.clone())));
        probes.extend([(other, new), (old, other), (new, old)].map(|(o, n2)| (m, n, o, n2, p.clone())));
        let extended = [[&p[..], &[new]].concat(), [&[old], &p[..]].concat(), [&p[..1], &p[..]].concat()];
        probes.extend(extended.map(|q| (m, n, old, new, q)));
        probes.extend((0..p.len()).map(|at| (m, n, old, new, flipped(&p, at, byte))));
        probes.extend([vec![], p[..p.len() - 1].to_vec()].map(|q| (m, n, old, new, q)));
        probes
    }

    #[test]
    fn published_vectors() {
        let leaves: Vec<Hash> = INPUTS.iter().map(|input| leaf_hash(input)).collect();
        assert_eq!(leaves, hashes(NODES[0]));
        for (level, nodes) in NODES.iter().enumerate() {
            for (index, node) in nodes.iter().enumerate() {
                assert_eq!(root(&leaves[index << level..(index + 1) << level]), h(node));
            }
        }
        let mut frontier = Frontier::new();
        for (size, peaks) in PEAKS.iter().enumerate() {
            let want: Vec<Hash> = peaks.iter().map(|&(level, index)| h(NODES[level][index])).collect();
            assert_eq!(frontier.peaks(), want);
            assert_eq!(frontier.root(), if size == 0 { h(EMPTY) } else { h(ROOTS[size - 1]) });
            assert_eq!(root(&leaves[..size]), frontier.root());
            if let Some(leaf) = leaves.get(size) {
                frontier.push(*leaf);
            }
        }
        for (index, size, proof) in INCLUSIONS {
            let (leaf, tree_root, proof) = (leaves[index as usize], h(ROOTS[size as usize - 1]), hashes(proof));
            assert_eq!(inclusion_proof(&leaves, index, size).unwrap(), proof);
            assert!(verify_inclusion(&leaf, index, size, &proof, &tree_root));
            for probe in inclusion_probes(leaf, index, size, &proof, tree_root, index as usize) {
                assert!(!verify_inclusion(&probe.0, probe.1, probe.2, &probe.3, &probe.4), "{probe:?}");
            }
        }
        for (m, n, proof) in CONSISTENCIES {
            let (old, new, proof) = (h(ROOTS[m as usize - 1]), h(ROOTS[n as usize - 1]), hashes(proof));
            assert_eq!(consistency_proof(&leaves, m, n).unwrap(), proof);
            assert!(verify_consistency(m, n, &old, &new, &proof));
            for probe in
                if proof.is_empty() { vec![] } else { consistency_probes(m, n, old, new, &proof, 31 - m as usize) }
            {
                assert!(!verify_consistency(probe.0, probe.1, &probe.2, &probe.3, &probe.4), "{probe:?}");
            }
        }
    }

    #[test]
    fn edge_cases() {
        let (leaf, empty, long) = (leaf_hash(b"x"), h(EMPTY), [leaf_hash(b"y"); 70]);
        assert_eq!(root(&[]), empty);
        for (index, size, leaves) in [(0, 0, &[leaf][..]), (1, 1, &[leaf]), (0, 2, &[leaf]), (0, 1, &[])] {
            assert_eq!(inclusion_proof(leaves, index, size), None);
        }
        assert_eq!((consistency_proof(&[leaf], 1, 0), consistency_proof(&[leaf], 0, 2)), (None, None));
        assert_eq!((consistency_proof(&[leaf], 0, 1), consistency_proof(&[], 0, 0)), (Some(vec![]), Some(vec![])));
        // Inclusion: nothing is in an empty tree, the index must be below the size, and the proof length is exact.
        assert!(verify_inclusion(&leaf, 0, 1, &[], &leaf));
        for (index, size, proof) in [(0, 0, &[][..]), (1, 1, &[]), (0, 1, &[leaf]), (0, 2, &[]), (0, 2, &long)] {
            assert!(!verify_inclusion(&leaf, index, size, proof, &leaf));
        }
        for (index, size) in [(u64::MAX, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX), (0, u64::MAX)] {
            assert!(!verify_inclusion(&leaf, index, size, &long, &leaf));
        }
        // Consistency: no going back; from the empty tree with an empty proof and the empty root; between equal
        // sizes with an empty proof and equal roots (RFC 9162: SUBPROOF(m, D[m], true) = {}).
        assert!(verify_consistency(0, 0, &empty, &empty, &[]));
        assert!(verify_consistency(0, 5, &empty, &leaf, &[]));
        assert!(verify_consistency(3, 3, &leaf, &leaf, &[]));
        for (m, n, old, new, proof) in [
            (2, 1, leaf, leaf, &[][..]),
            (0, 5, empty, leaf, &[leaf]),
            (0, 5, leaf, leaf, &[]),
            (0, 0, empty, leaf, &[]),
            (3, 3, leaf, empty, &[]),
            (3, 3, leaf, leaf, &[leaf]),
            (1, 2, leaf, leaf, &[]),
        ] {
            assert!(!verify_consistency(m, n, &old, &new, proof), "{m} {n}");
        }
        for (m, n) in [(u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX), (1, u64::MAX), (u64::MAX, u64::MAX)] {
            assert!(!verify_consistency(m, n, &leaf, &empty, &long));
        }
        // The proof does not bind the size: PATH(0, D[3]) has the shape of PATH(0, D[4]), so only the root does.
        let leaves: Vec<Hash> = (0u8..4).map(|i| leaf_hash(&[i])).collect();
        let proof = inclusion_proof(&leaves, 0, 3).unwrap();
        assert!(verify_inclusion(&leaves[0], 0, 4, &proof, &root(&leaves[..3])));
        assert!(!verify_inclusion(&leaves[0], 0, 4, &proof, &root(&leaves)));
        // Hex: lowercase out, either case in, exactly 64 digits; frontier parts must agree.
        assert_eq!((crate::seal::hex(&empty), from_hex(&EMPTY.to_uppercase())), (EMPTY.to_string(), Some(empty)));
        for bad in [&EMPTY[1..], &format!("{EMPTY}0"), &format!("{}g", &EMPTY[1..]), &format!("{}é", &EMPTY[2..])] {
            assert_eq!(from_hex(bad), None, "{bad}");
        }
        assert_eq!(from_hex(&format!("+{}", &EMPTY[1..])), None);
        assert_eq!(Frontier::from_parts(0, vec![]), Some(Frontier::new()));
        assert_eq!((Frontier::from_parts(5, vec![leaf]), Frontier::from_parts(4, vec![leaf, leaf])), (None, None));
    }

    fn tree(size: usize, seed: u64) -> Vec<Hash> {
        (0..size as u64).map(|i| leaf_hash(&[seed.to_le_bytes(), i.to_le_bytes()].concat())).collect()
    }

    proptest! {
        #![proptest_config(Config::with_cases(300))]

        #[test]
        fn inclusion_proofs_verify_and_resist_tampering(size in 1..=300usize, at: prop::sample::Index, seed: u64,
            other: u64, byte in 0..32usize) {
            let (leaves, index) = (tree(size, seed), at.index(size));
            let (n, i, tree_root) = (size as u64, index as u64, root(&leaves));
            let proof = inclusion_proof(&leaves, i, n).unwrap();
            prop_assert!(verify_inclusion(&leaves[index], i, n, &proof, &tree_root));
            for probe in inclusion_probes(leaves[index], i, n, &proof, tree_root, byte) {
                prop_assert!(!verify_inclusion(&probe.0, probe.1, probe.2, &probe.3, &probe.4), "{:?}", probe);
            }
            let mut leaf = leaves[index];
            leaf[byte] ^= 0x80;
            prop_assert!(!verify_inclusion(&leaf, i, n, &proof, &tree_root));
            let wrong = other % (n + 2);
            prop_assert!(wrong == i || !verify_inclusion(&leaves[index], wrong, n, &proof, &tree_root));
            // Under another size's real root, the proof passes only if it is that tree's proof too.
            let other_size = (other >> 32) % (n + 1);
            let other_root = root(&leaves[..other_size as usize]);
            let same = inclusion_proof(&leaves, i, other_size).as_ref() == Some(&proof);
            prop_assert_eq!(verify_inclusion(&leaves[index], i, other_size, &proof, &other_root), same);
        }

        #[test]
        fn consistency_proofs_verify_and_resist_tampering(size in 1..=300usize, old: prop::sample::Index,
            other: (prop::sample::Index, prop::sample::Index), seed: u64, byte in 0..32usize) {
            let leaves = tree(size, seed);
            let (m, n) = (old.index(size + 1) as u64, size as u64);
            let (old_root, new_root) = (root(&leaves[..m as usize]), root(&leaves));
            let proof = consistency_proof(&leaves, m, n).unwrap();
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &proof));
            prop_assert_eq!(proof.is_empty(), m == 0 || m == n);
            if !proof.is_empty() {
                for probe in consistency_probes(m, n, old_root, new_root, &proof, byte) {
                    prop_assert!(!verify_consistency(probe.0, probe.1, &probe.2, &probe.3, &probe.4), "{:?}", probe);
                }
            }
            let (mut bad_old, mut bad_new) = (old_root, new_root);
            (bad_old[byte], bad_new[byte]) = (!bad_old[byte], !bad_new[byte]);
            prop_assert!(!verify_consistency(m, n, &bad_old, &new_root, &proof));
            // From size 0 the new root is the caller's to trust: no proof covers it.
            prop_assert!(m == 0 || !verify_consistency(m, n, &old_root, &bad_new, &proof));
            // Under other sizes' real roots, the proof passes only if it is their proof too.
            let m2 = other.0.index(size + 1);
            let (m2, n2) = (m2 as u64, (m2 + other.1.index(size + 1 - m2)) as u64);
            let (old2, new2) = (root(&leaves[..m2 as usize]), root(&leaves[..n2 as usize]));
            let same = consistency_proof(&leaves, m2, n2).as_ref() == Some(&proof);
            prop_assert_eq!(verify_consistency(m2, n2, &old2, &new2, &proof), same);
        }

        #[test]
        fn frontier_tracks_root(size in 0..=300usize, seed: u64) {
            let leaves = tree(size, seed);
            let mut frontier = Frontier::new();
            for end in 0..=size {
                prop_assert_eq!(frontier.size(), end as u64);
                prop_assert_eq!(frontier.root(), root(&leaves[..end]));
                let restored = Frontier::from_parts(frontier.size(), frontier.peaks().to_vec());
                prop_assert_eq!(restored.as_ref(), Some(&frontier));
                if let Some(leaf) = leaves.get(end) {
                    frontier = restored.unwrap();
                    frontier.push(*leaf);
                }
            }
        }
    }
}

//! The batch-buffer ring: allocation, reuse, zero-copy safety, a multi-thread stress, async wakeups and the
//! no-CUDA fallback.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use geochips::ring::{Lease, NO_PIN_ENV, Ring};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn ptrs(lease: &Lease) -> (usize, usize) {
    (
        lease.image().as_ptr() as usize,
        lease.mask().as_ptr() as usize,
    )
}

#[test]
fn allocation_page_aligned_sizes_writable() {
    for (slots, img, mask) in [
        (1, 1, 0),
        (3, 256 * 256 * 4 * 2, 256 * 256 * 4),
        (4, 5000, 0),
        (2, 0, 7),
    ] {
        let ring = Ring::new(slots, img, mask);
        assert_eq!(ring.slots(), slots);
        assert_eq!(ring.free(), slots);
        assert_eq!((ring.image_bytes(), ring.mask_bytes()), (img, mask));
        let mut held = Vec::new();
        let mut seen = BTreeSet::new();
        for n in 0..slots {
            let mut s = ring.try_acquire().expect("a free slot");
            assert!(seen.insert(s.index()), "index handed out twice");
            assert!(s.index() < slots);
            let (image, m) = s.parts_mut();
            assert_eq!((image.len(), m.len()), (img, mask));
            assert_eq!(image.as_ptr() as usize % 4096, 0, "image not page-aligned");
            assert_eq!(m.as_ptr() as usize % 4096, 0, "mask not page-aligned");
            assert!(image.iter().all(|&b| b == 0), "slots start zeroed");
            image.fill(n as u8 + 1);
            m.fill(n as u8 + 100);
            held.push(s.freeze());
            assert_eq!(ring.free(), slots - n - 1);
        }
        assert!(ring.try_acquire().is_none());
        for (n, l) in held.iter().enumerate() {
            assert!(l.image().iter().all(|&b| b == n as u8 + 1));
            assert!(l.mask().iter().all(|&b| b == n as u8 + 100));
            assert_eq!(l.pinned(), ring.pinned());
        }
        // Regions of different slots do not overlap.
        let mut spans: Vec<(usize, usize)> = held
            .iter()
            .flat_map(|l| {
                let (i, m) = ptrs(l);
                [(i, i + img), (m, m + mask)]
            })
            .filter(|s| s.1 > s.0)
            .collect();
        spans.sort();
        assert!(
            spans.windows(2).all(|w| w[0].1 <= w[1].0),
            "slot regions overlap"
        );
        drop(held);
        assert_eq!(ring.free(), slots);
    }
}

#[test]
fn reuse_keeps_the_same_buffers() {
    let ring = Ring::new(4, 10_000, 2_500);
    let first: BTreeSet<(usize, usize)> = {
        let held: Vec<Lease> = (0..4).map(|_| ring.acquire().freeze()).collect();
        held.iter().map(ptrs).collect()
    };
    assert_eq!(first.len(), 4);
    let mut rng = StdRng::seed_from_u64(1);
    let mut held: Vec<Lease> = Vec::new();
    for _ in 0..2_000 {
        if held.len() < 4 && rng.random_bool(0.6) {
            let mut s = ring.acquire();
            s.image_mut()[0] = 1;
            if rng.random_bool(0.2) {
                continue; // dropped unfrozen: back to the ring
            }
            let l = s.freeze();
            assert!(first.contains(&ptrs(&l)), "a new buffer appeared");
            held.push(l);
        } else if !held.is_empty() {
            let i = rng.random_range(0..held.len());
            held.swap_remove(i);
        }
        assert_eq!(ring.free(), 4 - held.len());
    }
}

#[test]
fn held_leases_block_the_producer_and_stay_intact() {
    let ring = Ring::new(3, 4096, 64);
    let held: Vec<Lease> = (0..3u8)
        .map(|n| {
            let mut s = ring.acquire();
            s.image_mut().fill(0xA0 + n);
            s.mask_mut().fill(n);
            s.freeze()
        })
        .collect();
    assert_eq!(ring.free(), 0);
    assert!(ring.try_acquire().is_none());
    let t = Instant::now();
    assert!(ring.acquire_timeout(Duration::from_millis(50)).is_none());
    assert!(
        t.elapsed() >= Duration::from_millis(45),
        "acquire_timeout returned early"
    );

    // Release one slot; cycle it many times while the two others stay held.
    let mut held = held;
    let cloned = held[0].clone();
    let kept = held.remove(0);
    drop(kept);
    assert_eq!(
        ring.free(),
        0,
        "one clone still alive: the slot stays leased"
    );
    drop(cloned);
    assert_eq!(ring.free(), 1);
    for round in 0..100u8 {
        let mut s = ring.try_acquire().expect("the released slot");
        assert!(held.iter().all(|l| l.index() != s.index()));
        s.image_mut().fill(round);
        s.mask_mut().fill(round);
        drop(s.freeze());
        assert!(ring.try_acquire().is_some_and(|s| {
            let i = s.index();
            drop(s);
            held.iter().all(|l| l.index() != i)
        }));
    }
    for (n, l) in held.iter().enumerate() {
        let n = n as u8 + 1;
        assert!(
            l.image().iter().all(|&b| b == 0xA0 + n),
            "a held lease was overwritten"
        );
        assert!(
            l.mask().iter().all(|&b| b == n),
            "a held mask was overwritten"
        );
    }
}

#[test]
fn last_drop_wakes_a_blocked_acquire() {
    let ring = Ring::new(1, 64, 0);
    let lease = ring.acquire().freeze();
    let extra = lease.clone();
    let waiting = Arc::new(AtomicBool::new(false));
    let got = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (ring, waiting, got) = (ring.clone(), waiting.clone(), got.clone());
        thread::spawn(move || {
            waiting.store(true, Ordering::SeqCst);
            let s = ring.acquire();
            got.store(true, Ordering::SeqCst);
            s.index()
        })
    };
    while !waiting.load(Ordering::SeqCst) {
        thread::yield_now();
    }
    thread::sleep(Duration::from_millis(50));
    assert!(
        !got.load(Ordering::SeqCst),
        "acquire returned while the slot was leased"
    );
    // Drop one clone on another thread: still leased.
    thread::spawn(move || drop(lease)).join().unwrap();
    thread::sleep(Duration::from_millis(50));
    assert!(
        !got.load(Ordering::SeqCst),
        "acquire returned while a clone was alive"
    );
    // The last clone, dropped on yet another thread, wakes the waiter.
    thread::spawn(move || drop(extra)).join().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(waiter.join().unwrap()));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10))
            .expect("acquire never woke"),
        0
    );
    assert_eq!(ring.free(), 1);
}

/// `threads` producers fill slots stamped with a sequence number and send 1–3 clones of each Lease to random
/// consumers, which verify the stamp and drop them. Per slot the test counts live holders: a producer must
/// only ever get a slot nobody holds.
fn stress(threads: usize, slots: usize, batches: usize) {
    const IMG: usize = 1024;
    const MASK: usize = 64;
    let ring = Ring::new(slots, IMG, MASK);
    let holders: Arc<Vec<AtomicUsize>> =
        Arc::new((0..slots).map(|_| AtomicUsize::new(0)).collect());
    let next_seq = Arc::new(AtomicUsize::new(0));
    let checked = Arc::new(AtomicUsize::new(0));
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| mpsc::channel::<(Lease, u64)>())
        .unzip();
    let start = Arc::new(Barrier::new(2 * threads));
    let mut handles = Vec::new();
    for (c, rx) in rxs.into_iter().enumerate() {
        let (holders, checked, start) = (holders.clone(), checked.clone(), start.clone());
        handles.push(thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(1000 + c as u64);
            start.wait();
            for (lease, seq) in rx {
                if rng.random_bool(0.1) {
                    thread::yield_now(); // widen the window for a premature reuse to show
                }
                let img = lease.image();
                assert_eq!(
                    u64::from_le_bytes(img[..8].try_into().unwrap()),
                    seq,
                    "stamp overwritten"
                );
                assert!(
                    img[8..].iter().all(|&b| b == seq as u8),
                    "image overwritten"
                );
                assert!(
                    lease.mask().iter().all(|&b| b == !(seq as u8)),
                    "mask overwritten"
                );
                checked.fetch_add(1, Ordering::Relaxed);
                holders[lease.index()].fetch_sub(1, Ordering::SeqCst);
                drop(lease);
            }
        }));
    }
    for p in 0..threads {
        let (ring, holders, next_seq, start) = (
            ring.clone(),
            holders.clone(),
            next_seq.clone(),
            start.clone(),
        );
        let txs = txs.clone();
        handles.push(thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(p as u64);
            start.wait();
            loop {
                let seq = next_seq.fetch_add(1, Ordering::Relaxed);
                if seq >= batches {
                    break;
                }
                let mut slot = match seq % 3 {
                    0 => ring.acquire(),
                    1 => loop {
                        if let Some(s) = ring.acquire_timeout(Duration::from_micros(200)) {
                            break s;
                        }
                    },
                    _ => loop {
                        if let Some(s) = ring.try_acquire() {
                            break s;
                        }
                        thread::yield_now();
                    },
                };
                let copies = rng.random_range(1..=3usize);
                let prev = holders[slot.index()].compare_exchange(
                    0,
                    copies,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
                assert_eq!(
                    prev,
                    Ok(0),
                    "slot {} handed out while still held",
                    slot.index()
                );
                let (img, mask) = slot.parts_mut();
                img[8..].fill(seq as u8);
                img[..8].copy_from_slice(&(seq as u64).to_le_bytes());
                mask.fill(!(seq as u8));
                let lease = slot.freeze();
                for _ in 1..copies {
                    let to = rng.random_range(0..txs.len());
                    txs[to].send((lease.clone(), seq as u64)).unwrap();
                }
                let to = rng.random_range(0..txs.len());
                txs[to].send((lease, seq as u64)).unwrap();
            }
        }));
    }
    drop(txs);
    // Watchdog: a deadlock fails the test instead of hanging it.
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let r: Vec<_> = handles.into_iter().map(|h| h.join().is_ok()).collect();
        let _ = done_tx.send(r);
    });
    let joined = done_rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("deadlock: {threads} threads, {slots} slots"));
    assert!(
        joined.iter().all(|&ok| ok),
        "a producer or consumer panicked"
    );
    assert!(checked.load(Ordering::Relaxed) >= batches);
    assert!(holders.iter().all(|h| h.load(Ordering::SeqCst) == 0));
    assert_eq!(ring.free(), ring.slots());
}

#[test]
fn stress_1_thread() {
    stress(1, 3, 10_000);
}

#[test]
fn stress_2_threads() {
    stress(2, 4, 10_000);
}

#[test]
fn stress_4_threads() {
    stress(4, 4, 10_000);
}

#[test]
fn stress_8_threads() {
    stress(8, 5, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_async_wakes_when_a_lease_drops_elsewhere() {
    let ring = Ring::new(2, 128, 16);
    let a = ring.acquire().freeze();
    let b = ring.acquire().freeze();
    let b2 = b.clone();
    // Nothing free: the future must stay pending.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), ring.acquire_async())
            .await
            .is_err()
    );
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        drop(b);
        thread::sleep(Duration::from_millis(30));
        drop(b2);
    });
    let slot = tokio::time::timeout(Duration::from_secs(10), ring.acquire_async())
        .await
        .expect("acquire_async never woke");
    assert_ne!(slot.index(), a.index());
    dropper.join().unwrap();
    // Several async waiters: each gets a slot as leases drop.
    drop(slot);
    let held: Vec<Lease> = vec![a, ring.acquire().freeze()];
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let ring = ring.clone();
            tokio::spawn(async move { ring.acquire_async().await.freeze() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    thread::spawn(move || drop(held)).join().unwrap();
    for w in waiters {
        tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("a waiter never woke")
            .unwrap();
    }
    assert_eq!(ring.free(), 2);
}

#[test]
fn no_cuda_here_means_ordinary_memory() {
    // This machine has no CUDA driver (or GEOCHIPS_NO_PIN is set): the ring still works, unpinned, and says why.
    let ring = Ring::new(2, 4096, 0);
    if std::path::Path::new("/dev/nvidia0").exists() && std::env::var_os(NO_PIN_ENV).is_none() {
        eprintln!("a GPU is present: {}", ring.pin_status());
        assert_eq!(ring.pinned(), ring.pin_status().starts_with("pinned"));
        return;
    }
    assert!(!ring.pinned());
    let status = ring.pin_status();
    assert!(status.starts_with("not pinned: "), "{status}");
    assert!(status.len() > "not pinned: ".len());
    assert!(!ring.acquire().freeze().pinned());
}

/// Runs in a child process (see `no_pin_env_disables_pinning`) with GEOCHIPS_NO_PIN=1 set from the start.
#[test]
fn no_pin_env_child() {
    if std::env::var_os("GEOCHIPS_RING_TEST_CHILD").is_none() {
        return;
    }
    let ring = Ring::new(2, 4096, 16);
    assert!(!ring.pinned());
    assert_eq!(
        ring.pin_status(),
        format!("not pinned: {NO_PIN_ENV} is set")
    );
    let mut s = ring.acquire();
    s.image_mut()[0] = 1;
    assert_eq!(s.freeze().image()[0], 1);
}

#[test]
fn no_pin_env_disables_pinning() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_pin_env_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(NO_PIN_ENV, "1")
        .env("GEOCHIPS_RING_TEST_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run: {stdout}"
    );
}

#[test]
fn pinning_survives_create_drop_cycles() {
    // With a driver: each ring registers its slots and unregisters them when its storage drops (else the
    // allocator's reuse of the same addresses would fail with CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED).
    // The last handle is a Lease dropped on a thread that has no CUDA context current.
    let first = Ring::new(2, 1 << 20, 4096);
    let pinned = first.pinned();
    drop(first);
    for _ in 0..10 {
        let ring = Ring::new(2, 1 << 20, 4096);
        assert_eq!(ring.pinned(), pinned, "{}", ring.pin_status());
        assert_eq!(ring.pin_status().starts_with("pinned: "), pinned);
        let lease = ring.acquire().freeze();
        assert_eq!(lease.pinned(), pinned);
        drop(ring);
        thread::spawn(move || drop(lease)).join().unwrap();
    }
}

#[test]
fn pinning_off_by_argument() {
    let ring = Ring::with_pinning(1, 10, 10, false);
    assert!(!ring.pinned());
    assert_eq!(ring.pin_status(), "not pinned: pinning not requested");
}

//! Quickstart: open a COG (a path or URL given on the command line, else the first demo scene), read a
//! 256 x 256 window of every band, and print each band's mean over its valid pixels.
//!
//! `cargo run --release --example quickstart -- [HREF]`

use geochips::demo::DemoDataset;
use geochips::{Cog, Window};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let href = match std::env::args().nth(1) {
        Some(href) => href,
        None => {
            let dir = std::env::temp_dir().join("geochips-quickstart");
            let dataset = DemoDataset {
                scenes: 1,
                size: 1024,
                ..DemoDataset::default()
            };
            dataset.build(&dir)?[0].display().to_string()
        }
    };
    let cog = Cog::open(&href).await?;
    println!(
        "{href}: {} x {} px, {} bands of {}",
        cog.width(),
        cog.height(),
        cog.count(),
        cog.dtype()
    );
    let window = Window::new(100, 200, 256, 256);
    let bands: Vec<usize> = (0..cog.count()).collect();
    let mut pixels = vec![0u8; cog.buffer_len(&window, bands.len())];
    let mut mask = vec![0u8; window.pixels() as usize * bands.len()];
    cog.read_window(&window, &bands, None, &mut pixels, Some(&mut mask))
        .await?;
    let size = cog.dtype().size();
    let plane = window.pixels() as usize;
    for b in bands {
        let (mut sum, mut n) = (0.0, 0usize);
        for i in b * plane..(b + 1) * plane {
            if mask[i] != 0 {
                sum += cog.dtype().read_value(&pixels[i * size..(i + 1) * size]);
                n += 1;
            }
        }
        println!(
            "band {}: mean {:.2} over {n} valid pixels",
            b + 1,
            sum / n.max(1) as f64
        );
    }
    Ok(())
}

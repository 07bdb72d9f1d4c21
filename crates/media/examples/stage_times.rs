use media::codec::{VideoCodec, VideoDecoder, VideoEncodeSettings, VideoEncoder};
use media::pattern::TestPattern;
use std::time::Instant;
fn main() {
    for codec in VideoCodec::ALL {
        let mut p = TestPattern::new(1280, 720);
        let mut enc = VideoEncoder::new(codec, VideoEncodeSettings { bitrate_bps: 1_000_000, fps: 30.0 }).unwrap();
        let mut dec = VideoDecoder::new(codec).unwrap();
        let (mut te, mut td, mut bytes) = (0.0, 0.0, 0);
        let n = 90;
        for i in 0..n {
            let f = p.frame_at(i * 33_333);
            let t = Instant::now();
            let b = enc.encode(&f).unwrap().0.to_vec();
            te += t.elapsed().as_secs_f64();
            bytes += b.len();
            let t = Instant::now();
            let _ = dec.decode(&b).unwrap();
            td += t.elapsed().as_secs_f64();
        }
        let ms = |x: f64| x * 1000.0 / n as f64;
        println!("{codec}: encode {:.2} ms decode {:.2} ms, {} kbit/s", ms(te), ms(td), bytes * 8 / 3 / 1000);
    }
}

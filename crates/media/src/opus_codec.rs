//! Opus voice codec, mono 48 kHz, 20 ms packets, with in-band FEC on.

use crate::frame::AudioFrame;
use crate::{AUDIO_FRAME_SAMPLES, SAMPLE_RATE};
use opus::{Application, Bitrate, Channels};

#[derive(Debug, thiserror::Error)]
#[error("opus: {0}")]
pub struct OpusError(String);

fn err(e: opus::Error) -> OpusError {
    OpusError(e.to_string())
}

/// Largest Opus packet we produce.
const MAX_PACKET: usize = 1500;

pub struct OpusEncoder {
    enc: opus::Encoder,
    bitrate: u32,
    buf: Vec<u8>,
}

impl OpusEncoder {
    pub fn new(bitrate_bps: u32) -> Result<Self, OpusError> {
        let mut enc =
            opus::Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip).map_err(err)?;
        enc.set_bitrate(Bitrate::Bits(bitrate_bps as i32))
            .map_err(err)?;
        enc.set_inband_fec(true).map_err(err)?;
        enc.set_packet_loss_perc(5).map_err(err)?;
        Ok(Self {
            enc,
            bitrate: bitrate_bps,
            buf: vec![0; MAX_PACKET],
        })
    }

    /// Changes the bitrate live (takes effect on the next packet).
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), OpusError> {
        self.enc
            .set_bitrate(Bitrate::Bits(bps as i32))
            .map_err(err)?;
        self.bitrate = bps;
        Ok(())
    }

    pub fn bitrate(&self) -> u32 {
        self.bitrate
    }

    pub fn encode(&mut self, frame: &AudioFrame) -> Result<&[u8], OpusError> {
        let n = self
            .enc
            .encode(&frame.samples, &mut self.buf)
            .map_err(err)?;
        Ok(&self.buf[..n])
    }
}

pub struct OpusDecoder {
    dec: opus::Decoder,
    pcm: Vec<i16>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, OpusError> {
        Ok(Self {
            dec: opus::Decoder::new(SAMPLE_RATE, Channels::Mono).map_err(err)?,
            pcm: vec![0; AUDIO_FRAME_SAMPLES * 6],
        })
    }

    /// Decodes a packet (stereo packets are mixed down by libopus).
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[i16], OpusError> {
        let n = self.dec.decode(packet, &mut self.pcm, false).map_err(err)?;
        Ok(&self.pcm[..n])
    }

    /// Rebuilds one lost frame from the in-band FEC that the packet after it carries.
    pub fn decode_fec(&mut self, next_packet: &[u8]) -> Result<&[i16], OpusError> {
        let n = self
            .dec
            .decode(next_packet, &mut self.pcm[..AUDIO_FRAME_SAMPLES], true)
            .map_err(err)?;
        Ok(&self.pcm[..n])
    }

    /// Conceals one lost packet.
    pub fn conceal(&mut self) -> Result<&[i16], OpusError> {
        let n = self
            .dec
            .decode(&[], &mut self.pcm[..AUDIO_FRAME_SAMPLES], false)
            .map_err(err)?;
        Ok(&self.pcm[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Tone;

    #[test]
    fn tone_survives_a_round_trip_and_bitrate_changes_apply() {
        let mut tone = Tone::new(440.0, -12.0);
        let mut enc = OpusEncoder::new(64_000).expect("enc");
        let mut dec = OpusDecoder::new().expect("dec");
        let mut big = 0;
        for _ in 0..50 {
            big += enc.encode(&tone.frame_at(0)).expect("encode").len();
        }
        enc.set_bitrate(16_000).expect("bitrate");
        let mut small = 0;
        let mut level = -100.0;
        for _ in 0..50 {
            let pkt = enc.encode(&tone.frame_at(0)).expect("encode").to_vec();
            small += pkt.len();
            let pcm = dec.decode(&pkt).expect("decode").to_vec();
            level = AudioFrame {
                samples: pcm,
                capture_us: 0,
            }
            .level_dbfs();
        }
        assert!(
            small * 2 < big,
            "16 kbps ({small} B) should be well under 64 kbps ({big} B)"
        );
        assert!(level > -25.0, "decoded tone level {level}");
        assert!(!dec.conceal().expect("plc").is_empty());
    }

    #[test]
    fn a_lost_frame_is_rebuilt_from_the_next_packets_fec() {
        let mut tone = Tone::new(440.0, -12.0);
        let mut enc = OpusEncoder::new(32_000).expect("enc");
        let mut dec = OpusDecoder::new().expect("dec");
        let packets: Vec<Vec<u8>> = (0..60)
            .map(|_| enc.encode(&tone.frame_at(0)).expect("encode").to_vec())
            .collect();
        for p in &packets[..49] {
            dec.decode(p).expect("decode");
        }
        // Packet 49 is lost; packet 50 carries it at low bitrate.
        let rebuilt = AudioFrame {
            samples: dec.decode_fec(&packets[50]).expect("fec").to_vec(),
            capture_us: 0,
        };
        assert_eq!(rebuilt.samples.len(), AUDIO_FRAME_SAMPLES);
        assert!(
            rebuilt.level_dbfs() > -25.0,
            "the tone is back, not silence: {}",
            rebuilt.level_dbfs()
        );
    }
}

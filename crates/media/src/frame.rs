//! Raw frames: I420 video and 16-bit PCM audio.

/// One I420 picture, planes packed (Y, then U, then V), even width and height.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
    /// When the picture was captured, microseconds since the Unix epoch.
    pub capture_us: u64,
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VideoFrame({}x{}, t={})",
            self.width, self.height, self.capture_us
        )
    }
}

impl VideoFrame {
    /// A black frame.
    pub fn black(width: usize, height: usize) -> Self {
        let (w, h) = (width & !1, height & !1);
        let mut data = vec![16u8; w * h * 3 / 2];
        data[w * h..].fill(128);
        Self {
            width: w,
            height: h,
            data,
            capture_us: 0,
        }
    }

    pub fn y_plane(&self) -> &[u8] {
        &self.data[..self.width * self.height]
    }

    pub fn y_plane_mut(&mut self) -> &mut [u8] {
        let n = self.width * self.height;
        &mut self.data[..n]
    }

    fn chroma_len(&self) -> usize {
        (self.width / 2) * (self.height / 2)
    }

    pub fn u_plane(&self) -> &[u8] {
        let y = self.width * self.height;
        &self.data[y..y + self.chroma_len()]
    }

    pub fn v_plane(&self) -> &[u8] {
        let y = self.width * self.height;
        &self.data[y + self.chroma_len()..]
    }

    /// Copies a decoder's (possibly strided) planes into a packed frame.
    pub fn from_planes(
        width: usize,
        height: usize,
        y: &[u8],
        u: &[u8],
        v: &[u8],
        strides: (usize, usize, usize),
    ) -> Self {
        let (cw, ch) = (width / 2, height / 2);
        let mut data = Vec::with_capacity(width * height * 3 / 2);
        for row in 0..height {
            data.extend_from_slice(&y[row * strides.0..row * strides.0 + width]);
        }
        for row in 0..ch {
            data.extend_from_slice(&u[row * strides.1..row * strides.1 + cw]);
        }
        for row in 0..ch {
            data.extend_from_slice(&v[row * strides.2..row * strides.2 + cw]);
        }
        Self {
            width,
            height,
            data,
            capture_us: 0,
        }
    }
}

#[cfg(feature = "codecs")]
impl openh264::formats::YUVSource for VideoFrame {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }
    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }
    fn y(&self) -> &[u8] {
        self.y_plane()
    }
    fn u(&self) -> &[u8] {
        self.u_plane()
    }
    fn v(&self) -> &[u8] {
        self.v_plane()
    }
}

/// 20 ms of mono 48 kHz audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFrame {
    pub samples: Vec<i16>,
    pub capture_us: u64,
}

impl AudioFrame {
    /// Root-mean-square level in dBFS (-inf for silence clamps to -100).
    pub fn level_dbfs(&self) -> f32 {
        if self.samples.is_empty() {
            return -100.0;
        }
        let sum: f64 = self
            .samples
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        let rms = (sum / self.samples.len() as f64).sqrt() / 32768.0;
        if rms <= 1e-5 {
            -100.0
        } else {
            (20.0 * rms.log10()) as f32
        }
    }
}

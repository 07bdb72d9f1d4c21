//! What a call opens: cameras, microphones and speakers, or synthetic sources in their place.

use media::{AudioSource, VideoSource};
use std::sync::Arc;

/// Opens a camera (or the synthetic pattern) for a call or a preview.
pub type OpenVideo = Arc<dyn Fn() -> Box<dyn VideoSource> + Send + Sync>;

/// Opens a microphone by name (`None`: the system default) for a call.
pub type OpenAudio = Arc<dyn Fn(Option<&str>) -> Box<dyn AudioSource> + Send + Sync>;

/// Makes the media sources for each call: cameras and microphones, or synthetic ones.
#[derive(Clone)]
pub struct MediaFactory {
    pub video: Vec<(String, OpenVideo)>,
    /// Opens the microphone chosen with `set_microphone` (`None`: the system default).
    pub audio: OpenAudio,
    /// Opens the speaker for received audio; `None` only decodes (headless peers, bots).
    pub output: Option<crate::pipeline::OpenOutput>,
    /// Video codecs in order of preference (empty: Simu's default order).
    pub codecs: Vec<media::codec::VideoCodec>,
    /// Microphone clean-up (echo, noise, level); off for the synthetic tone, which it would alter.
    pub audio_processing: Option<media::apm::ApmSettings>,
}

impl MediaFactory {
    /// The synthetic camera (1280x720 stamped pattern) and a 440 Hz tone.
    pub fn synthetic() -> Self {
        Self {
            video: vec![(
                "Synthetic test pattern".into(),
                Arc::new(|| {
                    Box::new(media::pattern::TestPattern::new(1280, 720)) as Box<dyn VideoSource>
                }),
            )],
            audio: Arc::new(|_: Option<&str>| {
                Box::new(media::audio::Tone::new(440.0, -20.0)) as Box<dyn AudioSource>
            }),
            output: None,
            codecs: Vec::new(),
            audio_processing: None,
        }
    }

    /// A desktop's devices: the cameras present (the synthetic pattern when there are none),
    /// the microphone chosen when a call starts (opened on the media thread) and speakers for
    /// received audio.
    pub fn devices() -> Self {
        let cameras: Vec<(String, OpenVideo)> = media::camera::list_cameras()
            .into_iter()
            .map(|c| {
                let name = c.name.clone();
                let open: OpenVideo = Arc::new(move || {
                    Box::new(media::camera::CameraSource::open(c.clone(), 1280, 720, 30))
                        as Box<dyn VideoSource>
                });
                (name, open)
            })
            .collect();
        let synthetic = Self::synthetic();
        Self {
            video: if cameras.is_empty() {
                synthetic.video.clone()
            } else {
                cameras
            },
            audio: Arc::new(|name: Option<&str>| {
                Box::new(media::devices::LazyMicrophone::new(name.map(str::to_owned)))
                    as Box<dyn AudioSource>
            }),
            output: Some(Arc::new(|name: Option<&str>| {
                media::devices::Speaker::open(name)
                    .map(|s| Box::new(s) as Box<dyn media::AudioSink>)
                    .map_err(|e| e.to_string())
            })),
            audio_processing: Some(media::apm::ApmSettings::default()),
            ..synthetic
        }
    }
}

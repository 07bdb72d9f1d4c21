//! Builds a peer connection with Simu's codecs, interceptors and network settings, and the
//! local tracks it sends.

use crate::bwe::DelayEstimator;
use crate::codecs;
use crate::keyframe::KeyframeRequests;
use crate::net::NetConfig;
use crate::remb::{ReadRemb, RembCap, RembReader};
use crate::{rtc_err, PeerError};
use media::VideoCodec;
use rtc::interceptor::{CongestionControlBuilder, Slot, TwccSenderBuilder};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    register_default_interceptors, Registry,
};
use rtc::peer_connection::configuration::{RTCConfigurationBuilder, RTCIceTransportPolicy};
use rtc::peer_connection::transport::RTCIceServer;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpRtxParameters,
    RtpCodecKind,
};
use std::sync::Arc;
use std::time::Duration;
use webrtc::peer_connection::{PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler};

/// How a connection that sends media learns what it may send: the delay-based estimator fed
/// with the peer's transport-wide feedback, and where the peer's REMB cap is noted.
pub struct SendSide {
    pub estimator: DelayEstimator,
    pub remb: Arc<RembCap>,
}

/// A peer connection with Simu's codecs, default interceptors and keyframe-request delivery;
/// with `send_side`, transport-wide sequence numbers on what it sends, the estimator fed with
/// the peer's feedback and the peer's REMB read. The crate's pacer is never used: it queues
/// audio and resends behind video at exactly 1x the estimate (docs/VIDEO.md, WEBRTC.md 9).
pub async fn build_peer(
    net: &NetConfig,
    handler: Arc<dyn PeerConnectionEventHandler>,
    video_codecs: &[VideoCodec],
    send_side: Option<SendSide>,
) -> Result<Arc<dyn PeerConnection>, PeerError> {
    let mut me = codecs::media_engine(video_codecs).map_err(rtc_err)?;
    // Also registers the transport-cc feedback and header extension both ways.
    let registry = register_default_interceptors(Registry::new(), &mut me).map_err(rtc_err)?;
    let registry = registry.with(Slot::from(14_000), KeyframeRequests::default());
    let registry = match send_side {
        // Wire-ward of the keyframe interceptor, which passes only PLI/FIR on when a compound
        // packet holds one.
        Some(side) => registry
            .with(Slot::from(13_500), RembReader::new(ReadRemb(side.remb)))
            .with(Slot::TwccSender, TwccSenderBuilder::new().build())
            .with(
                Slot::CongestionControl,
                CongestionControlBuilder::new(side.estimator).build(),
            ),
        None => registry,
    };
    // The default NACK generator asks for a missing packet every 100 ms without end; on a
    // saturated link the resends then crowd out new video (20-30 Mbit/s of resends measured
    // through a 300 kbit/s cap). Three requests per packet, like a receiver that gives up.
    let registry = registry.with(
        Slot::NackGenerator,
        rtc::interceptor::NackGeneratorBuilder::new()
            .with_max_nacks_per_packet(3)
            .build(),
    );
    let mut cfg = RTCConfigurationBuilder::new().with_ice_servers(to_rtc_servers(&net.ice_servers));
    if net.relay_only {
        cfg = cfg.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
    }
    let mdns = if net.mdns() {
        rtc::ice::mdns::MulticastDnsMode::QueryOnly
    } else {
        rtc::ice::mdns::MulticastDnsMode::Disabled
    };
    // Connectivity checks every 50 ms (the crate's default is 200 ms; RFC 8445's pacing is 50 ms)
    // for as long in total as the default 7 x 200 ms: a call connects ~150 ms sooner.
    let settings = rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder::new()
        .with_multicast_dns_mode(mdns)
        .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(28))
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(cfg.build())
        .with_setting_engine(settings)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(net.udp_addrs.clone())
        .build()
        .await
        .map_err(rtc_err)?;
    Ok(Arc::new(pc))
}

fn to_rtc_servers(servers: &[nx::rest::IceServer]) -> Vec<RTCIceServer> {
    servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect()
}

/// Puts `prefs` first in the video transceivers' codec lists, so an answer picks our favourite
/// among the codecs the offer allows.
pub async fn prefer_codecs(pc: &Arc<dyn PeerConnection>, prefs: &[VideoCodec]) {
    // Each codec with its RTX: a preference list without them would drop RTX from the offer.
    let params: Vec<_> = prefs
        .iter()
        .flat_map(|c| [codecs::video(*c), codecs::rtx(*c)])
        .collect();
    for t in pc.get_transceivers().await {
        let is_video = match t.sender().await {
            Ok(Some(s)) => s.get_parameters().await.is_ok_and(|p| {
                p.rtp_parameters
                    .codecs
                    .iter()
                    .any(|c| c.rtp_codec.mime_type.starts_with("video/"))
            }),
            _ => false,
        };
        if is_video {
            if let Err(e) = t.set_codec_preferences(params.clone()).await {
                tracing::debug!(error = %e, "codec preferences not applied");
            }
        }
    }
}

/// A local track's description: its SSRC, and for video an RTX repair flow (RFC 4588) on which
/// the crate answers NACKs. `owner` starts the track id, which must differ from the peer's: the
/// crate routes inbound RTCP by track id, and a shared id sends the peer's PLI to our remote
/// track instead of our sender.
pub fn media_track(
    owner: &str,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
    ssrc: u32,
    rtx: bool,
) -> MediaStreamTrack {
    let name = if kind == RtpCodecKind::Video {
        "video"
    } else {
        "audio"
    };
    let id = format!("{owner}-{name}-{ssrc:08x}");
    MediaStreamTrack::new(
        format!("{owner}-{ssrc:08x}"),
        id.clone(),
        id,
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                rtx: (rtx && kind == RtpCodecKind::Video).then(|| RTCRtpRtxParameters {
                    ssrc: rand::random::<u32>(),
                }),
                ..Default::default()
            },
            codec,
            ..Default::default()
        }],
    )
}

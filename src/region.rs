//! Which Tencent Cloud Chat data centre to call, and in what order to try the others.
//!
//! An SDKAppID lives in exactly one data centre, chosen when the app was created. With
//! `TIM_REGION=auto` we start at the data centre nearest to the Cloudflare edge that runs the
//! request (great-circle distance from `request.cf` coordinates, else its country or continent)
//! and walk outwards; an explicit region only ever falls back to its own backup domain.

/// One of Tencent Cloud Chat's data centres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// Mainland China.
    China,
    /// Singapore.
    Singapore,
    /// Seoul.
    Seoul,
    /// Tokyo.
    Tokyo,
    /// Frankfurt.
    Frankfurt,
    /// Silicon Valley.
    SiliconValley,
    /// Jakarta.
    Jakarta,
}

/// Every data centre, in a fixed order used only to break distance ties.
pub const ALL: [Region; 7] = [
    Region::Singapore,
    Region::China,
    Region::Seoul,
    Region::Tokyo,
    Region::Jakarta,
    Region::Frankfurt,
    Region::SiliconValley,
];

impl Region {
    /// The name used in `TIM_REGION`.
    pub fn name(self) -> &'static str {
        match self {
            Region::China => "china",
            Region::Singapore => "singapore",
            Region::Seoul => "seoul",
            Region::Tokyo => "tokyo",
            Region::Frankfurt => "frankfurt",
            Region::SiliconValley => "silicon-valley",
            Region::Jakarta => "jakarta",
        }
    }

    /// Parses a `TIM_REGION` name (case-insensitive).
    pub fn from_name(s: &str) -> Option<Region> {
        ALL.into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The REST API domain Tencent documents for this data centre.
    pub fn primary_domain(self) -> &'static str {
        match self {
            Region::China => "console.tim.qq.com",
            Region::Singapore => "adminapisgp.im.qcloud.com",
            Region::Seoul => "adminapikr.im.qcloud.com",
            Region::Tokyo => "adminapijpn.im.qcloud.com",
            Region::Frankfurt => "adminapiger.im.qcloud.com",
            Region::SiliconValley => "adminapiusa.im.qcloud.com",
            Region::Jakarta => "adminapiidn.im.qcloud.com",
        }
    }

    /// The backup domain, for when DNS of the primary is hijacked or unreachable.
    pub fn backup_domain(self) -> &'static str {
        match self {
            Region::China => "adminapi.my-imcloud.com",
            Region::Singapore => "adminapisgp.my-imcloud.com",
            Region::Seoul => "adminapikr.my-imcloud.com",
            // Not in Tencent's pages (only third-party code); harmless if it never answers.
            Region::Tokyo => "adminapijpn.my-imcloud.com",
            Region::Frankfurt => "adminapiger.my-imcloud.com",
            Region::SiliconValley => "adminapiusa.my-imcloud.com",
            Region::Jakarta => "adminapiidn.my-imcloud.com",
        }
    }

    /// Approximate location of the data centre (latitude, longitude in degrees).
    pub fn coordinates(self) -> (f64, f64) {
        match self {
            Region::China => (31.23, 121.47),
            Region::Singapore => (1.35, 103.82),
            Region::Seoul => (37.57, 126.98),
            Region::Tokyo => (35.68, 139.69),
            Region::Frankfurt => (50.11, 8.68),
            Region::SiliconValley => (37.39, -122.08),
            Region::Jakarta => (-6.21, 106.85),
        }
    }
}

/// `TIM_REGION`: one data centre, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionSetting {
    /// Always this data centre (primary, then backup domain).
    Fixed(Region),
    /// Nearest to the edge first, then outwards; remembers the one that answered.
    Auto,
}

impl RegionSetting {
    /// Parses `TIM_REGION`; `None` for an unknown name.
    pub fn parse(s: &str) -> Option<RegionSetting> {
        if s.trim().eq_ignore_ascii_case("auto") {
            Some(RegionSetting::Auto)
        } else {
            Region::from_name(s).map(RegionSetting::Fixed)
        }
    }
}

/// What the runtime knows of where the request entered Cloudflare; every field may be missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeLocation {
    /// Latitude in degrees.
    pub latitude: Option<f64>,
    /// Longitude in degrees.
    pub longitude: Option<f64>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Two-letter continent code (AF, AN, AS, EU, NA, OC, SA).
    pub continent: Option<String>,
}

/// Great-circle distance in kilometres (haversine).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = trig::sin((la2 - la1) / 2.0).powi(2)
        + trig::cos(la1) * trig::cos(la2) * trig::sin((lo2 - lo1) / 2.0).powi(2);
    2.0 * 6371.0 * trig::asin(h.sqrt().min(1.0))
}

/// The trigonometry of [`distance_km`]. In the Worker it is the engine's `Math` (a call into
/// JS): Rust's own libm sin/cos/asin with their argument reduction cost about 7 KB of wasm, for
/// a sort of seven data centres once per isolate.
#[cfg(target_arch = "wasm32")]
mod trig {
    pub use js_sys::Math::{asin, cos, sin};
}

/// Native builds (tests, CLI, emulator) use Rust's libm.
#[cfg(not(target_arch = "wasm32"))]
mod trig {
    /// Sine.
    pub fn sin(x: f64) -> f64 {
        x.sin()
    }
    /// Cosine.
    pub fn cos(x: f64) -> f64 {
        x.cos()
    }
    /// Arcsine.
    pub fn asin(x: f64) -> f64 {
        x.asin()
    }
}

/// The data centre that stands for a country or continent when coordinates are missing.
fn proxy_region(loc: &EdgeLocation) -> Option<Region> {
    let by_country = loc.country.as_deref().and_then(|c| {
        Some(match c.to_ascii_uppercase().as_str() {
            "CN" | "HK" | "MO" | "TW" => Region::China,
            "KR" => Region::Seoul,
            "JP" => Region::Tokyo,
            "ID" | "AU" | "NZ" => Region::Jakarta,
            "SG" | "MY" | "TH" | "VN" | "PH" | "IN" => Region::Singapore,
            "US" | "CA" | "MX" => Region::SiliconValley,
            _ => return None,
        })
    });
    by_country.or_else(|| {
        loc.continent.as_deref().and_then(|c| {
            Some(match c.to_ascii_uppercase().as_str() {
                "EU" | "AF" => Region::Frankfurt,
                "NA" | "SA" => Region::SiliconValley,
                "OC" => Region::Jakarta,
                "AS" => Region::Singapore,
                _ => return None,
            })
        })
    })
}

/// The point we measure distances from: coordinates, else the proxy data centre, else Singapore.
fn origin(loc: &EdgeLocation) -> (f64, f64) {
    match (loc.latitude, loc.longitude) {
        (Some(lat), Some(lon))
            if lat.is_finite()
                && lon.is_finite()
                && (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lon) =>
        {
            (lat, lon)
        }
        _ => proxy_region(loc).unwrap_or(Region::Singapore).coordinates(),
    }
}

/// All data centres, nearest to `loc` first.
pub fn nearest_first(loc: &EdgeLocation) -> [Region; 7] {
    let from = origin(loc);
    let mut order = ALL;
    crate::small::sort_by(&mut order, |a, b| {
        distance_km(from, a.coordinates()).total_cmp(&distance_km(from, b.coordinates()))
    });
    order
}

/// One place to send a REST call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The data centre this endpoint belongs to (`None` for a `TIM_BASE_URL` override).
    pub region: Option<Region>,
    /// `scheme://host[:port]` with no trailing slash.
    pub origin: String,
    /// True for a `my-imcloud.com` backup domain.
    pub backup: bool,
}

impl Endpoint {
    fn of(region: Region, backup: bool) -> Endpoint {
        let host = if backup {
            region.backup_domain()
        } else {
            region.primary_domain()
        };
        Endpoint {
            region: Some(region),
            origin: format!("https://{host}"),
            backup,
        }
    }
}

/// The endpoints to try, in order, for one call.
///
/// `remembered` is the data centre that already answered for this SDKAppID in this isolate.
pub fn endpoints(
    setting: RegionSetting,
    base_url: Option<&str>,
    loc: &EdgeLocation,
    remembered: Option<Region>,
) -> Vec<Endpoint> {
    if let Some(base) = base_url {
        return vec![Endpoint {
            region: match setting {
                RegionSetting::Fixed(r) => Some(r),
                RegionSetting::Auto => None,
            },
            origin: base.trim_end_matches('/').to_owned(),
            backup: false,
        }];
    }
    let regions: Vec<Region> = match setting {
        RegionSetting::Fixed(r) => vec![r],
        RegionSetting::Auto => {
            let mut order = nearest_first(loc).to_vec();
            if let Some(r) = remembered {
                order.retain(|x| *x != r);
                order.insert(0, r);
            }
            order
        }
    };
    regions
        .into_iter()
        .flat_map(|r| [Endpoint::of(r, false), Endpoint::of(r, true)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> EdgeLocation {
        EdgeLocation {
            latitude: Some(lat),
            longitude: Some(lon),
            ..Default::default()
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_fail() {
        for r in ALL {
            assert_eq!(Region::from_name(r.name()), Some(r));
            assert_eq!(
                RegionSetting::parse(r.name()),
                Some(RegionSetting::Fixed(r))
            );
        }
        assert_eq!(RegionSetting::parse("AUTO"), Some(RegionSetting::Auto));
        assert_eq!(
            RegionSetting::parse("Silicon-Valley"),
            Some(RegionSetting::Fixed(Region::SiliconValley))
        );
        assert_eq!(RegionSetting::parse("mumbai"), None);
        assert_eq!(RegionSetting::parse(""), None);
    }

    #[test]
    fn domains_match_tencent_docs() {
        assert_eq!(Region::China.primary_domain(), "console.tim.qq.com");
        assert_eq!(
            Region::Jakarta.primary_domain(),
            "adminapiidn.im.qcloud.com"
        );
        assert_eq!(
            Region::Frankfurt.backup_domain(),
            "adminapiger.my-imcloud.com"
        );
        for r in ALL {
            assert!(r.backup_domain().ends_with(".my-imcloud.com"));
        }
    }

    #[test]
    fn distance_is_plausible() {
        // Frankfurt to Singapore is about 10,260 km.
        let d = distance_km(
            Region::Frankfurt.coordinates(),
            Region::Singapore.coordinates(),
        );
        assert!((10_000.0..10_500.0).contains(&d), "{d}");
        assert!(distance_km((0.0, 0.0), (0.0, 0.0)).abs() < 1e-9);
    }

    #[test]
    fn nearest_by_coordinates() {
        assert_eq!(nearest_first(&at(52.52, 13.40))[0], Region::Frankfurt); // Berlin
        assert_eq!(nearest_first(&at(47.61, -122.33))[0], Region::SiliconValley); // Seattle
        assert_eq!(nearest_first(&at(34.69, 135.50))[0], Region::Tokyo); // Osaka
        assert_eq!(nearest_first(&at(35.18, 129.08))[0], Region::Seoul); // Busan
        assert_eq!(nearest_first(&at(22.32, 114.17))[0], Region::China); // Hong Kong
        assert_eq!(nearest_first(&at(-33.87, 151.21))[0], Region::Jakarta); // Sydney
        assert_eq!(nearest_first(&at(13.76, 100.50))[0], Region::Singapore); // Bangkok
                                                                             // Dallas (wrangler dev placeholder): Silicon Valley, then the Asian ones, Frankfurt not first.
        let dfw = nearest_first(&at(32.90, -97.04));
        assert_eq!(dfw[0], Region::SiliconValley);
        assert_eq!(dfw.len(), 7);
    }

    #[test]
    fn country_then_continent_then_default() {
        let only = |country: Option<&str>, continent: Option<&str>| EdgeLocation {
            country: country.map(str::to_owned),
            continent: continent.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(
            nearest_first(&only(Some("JP"), Some("AS")))[0],
            Region::Tokyo
        );
        assert_eq!(
            nearest_first(&only(Some("FR"), Some("EU")))[0],
            Region::Frankfurt
        );
        assert_eq!(
            nearest_first(&only(None, Some("SA")))[0],
            Region::SiliconValley
        );
        assert_eq!(nearest_first(&only(None, None))[0], Region::Singapore);
        // Nonsense coordinates fall back to the country.
        let mut bad = only(Some("KR"), None);
        bad.latitude = Some(f64::NAN);
        bad.longitude = Some(10.0);
        assert_eq!(nearest_first(&bad)[0], Region::Seoul);
    }

    #[test]
    fn endpoints_for_each_setting() {
        let fixed = endpoints(
            RegionSetting::Fixed(Region::Seoul),
            None,
            &at(52.0, 13.0),
            None,
        );
        assert_eq!(
            fixed.iter().map(|e| e.origin.as_str()).collect::<Vec<_>>(),
            [
                "https://adminapikr.im.qcloud.com",
                "https://adminapikr.my-imcloud.com"
            ]
        );
        let auto = endpoints(RegionSetting::Auto, None, &at(52.0, 13.0), None);
        assert_eq!(auto.len(), 14);
        assert_eq!(auto[0].region, Some(Region::Frankfurt));
        assert!(auto[1].backup);
        let remembered = endpoints(
            RegionSetting::Auto,
            None,
            &at(52.0, 13.0),
            Some(Region::Tokyo),
        );
        assert_eq!(remembered[0].region, Some(Region::Tokyo));
        assert_eq!(remembered[2].region, Some(Region::Frankfurt));
        assert_eq!(remembered.len(), 14);
        let base = endpoints(
            RegionSetting::Auto,
            Some("http://127.0.0.1:8790/"),
            &at(0.0, 0.0),
            None,
        );
        assert_eq!(
            base,
            vec![Endpoint {
                region: None,
                origin: "http://127.0.0.1:8790".into(),
                backup: false
            }]
        );
    }
}

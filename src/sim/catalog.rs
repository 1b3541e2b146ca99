//! What the simulated parcels are made of: the goods of the first
//! Alashankou–Tashkent e-commerce train, enterprises of Jiangsu and Zhejiang,
//! logistics companies, waybill numbers, container owners, officers' notes,
//! and the bad identifiers of the `hostile_text` fault.

use fastrand::Rng;

use crate::domain::ids::{iso6346_check_digit, wagon_check_digit};

/// A kind of goods with its Chinese 10-digit commodity code.
pub struct Goods {
    /// HS code.
    pub hs_code: &'static str,
    /// Declared name.
    pub name: &'static str,
    /// Declared unit.
    pub unit: &'static str,
    /// Typical unit value in US cents (low, high).
    pub unit_cents: (u32, u32),
    /// Typical unit weight in grams.
    pub unit_grams: u32,
}

const fn goods(
    hs_code: &'static str,
    name: &'static str,
    unit: &'static str,
    unit_cents: (u32, u32),
    unit_grams: u32,
) -> Goods {
    Goods {
        hs_code,
        name,
        unit,
        unit_cents,
        unit_grams,
    }
}

/// Solar accessories, steel fittings, cloth, textiles, sanitary ware,
/// kitchenware and small household appliances.
pub const GOODS: &[Goods] = &[
    goods(
        "8541430000",
        "太阳能光伏组件 solar panel 100W",
        "块",
        (3500, 6800),
        6500,
    ),
    goods(
        "8504403090",
        "光伏逆变器 PV inverter 1kW",
        "台",
        (4200, 9500),
        3200,
    ),
    goods(
        "8536690000",
        "MC4光伏连接器 PV connector",
        "对",
        (40, 120),
        40,
    ),
    goods(
        "8507600090",
        "锂离子储能电池 lithium battery pack",
        "个",
        (2500, 6000),
        4800,
    ),
    goods(
        "9405420000",
        "太阳能庭院灯 solar garden light",
        "个",
        (350, 900),
        600,
    ),
    goods(
        "7307290000",
        "不锈钢管件 stainless steel pipe fitting",
        "千克",
        (250, 600),
        1000,
    ),
    goods(
        "7307910000",
        "碳钢法兰 steel flange",
        "个",
        (300, 1500),
        1800,
    ),
    goods(
        "7318159001",
        "钢制螺栓 steel bolt M12",
        "千克",
        (150, 300),
        1000,
    ),
    goods(
        "5407520000",
        "涤纶染色机织物 dyed polyester fabric",
        "米",
        (80, 220),
        150,
    ),
    goods(
        "5208520000",
        "全棉印花布 printed cotton fabric",
        "米",
        (120, 350),
        120,
    ),
    goods(
        "6109100021",
        "棉制针织T恤 cotton knitted T-shirt",
        "件",
        (180, 450),
        180,
    ),
    goods(
        "6201400000",
        "化纤制男式防寒服 men's padded jacket",
        "件",
        (900, 2600),
        900,
    ),
    goods(
        "6302321090",
        "化纤制床上用品 polyester bed linen set",
        "套",
        (600, 1500),
        1400,
    ),
    goods(
        "6910100000",
        "陶瓷洗面盆 ceramic washbasin",
        "个",
        (1800, 4500),
        9000,
    ),
    goods(
        "8481809000",
        "恒温混水阀水龙头 thermostatic faucet",
        "个",
        (900, 3200),
        1100,
    ),
    goods(
        "3922100000",
        "塑料淋浴盆 plastic shower tray",
        "个",
        (1500, 3500),
        7000,
    ),
    goods(
        "7323930000",
        "不锈钢炊具 stainless steel cookware",
        "套",
        (1200, 3600),
        3000,
    ),
    goods(
        "6911101900",
        "瓷制餐具 porcelain tableware set",
        "套",
        (900, 2800),
        4200,
    ),
    goods(
        "8211910000",
        "不锈钢厨刀 kitchen knife",
        "把",
        (150, 800),
        200,
    ),
    goods(
        "8516719000",
        "电热水壶 electric kettle",
        "台",
        (600, 1500),
        1200,
    ),
    goods("8516310000", "电吹风 hair dryer", "台", (500, 1800), 600),
    goods("8516603000", "电饭煲 rice cooker", "台", (1500, 4200), 3000),
    goods("8414519000", "台式电风扇 desk fan", "台", (700, 2000), 2200),
    goods(
        "8509409000",
        "家用搅拌机 food blender",
        "台",
        (1200, 3500),
        2600,
    ),
];

const JIANGSU_CITIES: &[(&str, &str)] = &[
    ("苏州", "3201"),
    ("无锡", "3202"),
    ("常州", "3204"),
    ("南通", "3206"),
    ("南京", "3201"),
    ("扬州", "3210"),
    ("徐州", "3203"),
    ("昆山", "3223"),
];
const ZHEJIANG_CITIES: &[(&str, &str)] = &[
    ("义乌", "3318"),
    ("杭州", "2901"),
    ("宁波", "3101"),
    ("温州", "2909"),
    ("绍兴", "2914"),
    ("金华", "2917"),
    ("台州", "2911"),
    ("湖州", "2912"),
    ("嘉兴", "2911"),
];
const NAME_WORDS: &[&str] = &[
    "恒达",
    "华联",
    "新丝路",
    "鑫盛",
    "天成",
    "瑞丰",
    "锦程",
    "嘉禾",
    "远航",
    "中亚通",
    "宏图",
    "润泽",
    "金桥",
    "佳宝",
    "东升",
    "顺捷",
    "博远",
    "丝路通",
];
const NAME_TRADES: &[&str] = &[
    "电子商务有限公司",
    "进出口贸易有限公司",
    "供应链管理有限公司",
    "跨境电商有限公司",
    "纺织品有限公司",
    "光伏科技有限公司",
    "五金制品有限公司",
    "厨具有限公司",
    "卫浴有限公司",
    "电器有限公司",
];

/// An e-commerce enterprise: name, customs code and home province.
pub struct Enterprise {
    /// Chinese name.
    pub name: String,
    /// 10-character customs registration code.
    pub code: String,
    /// `Jiangsu` or `Zhejiang`.
    pub region: &'static str,
}

/// The enterprise numbered `index`: the same index always gives the same one.
pub fn enterprise(seed: u64, index: u32) -> Enterprise {
    let mut rng = Rng::with_seed(seed ^ (u64::from(index) << 20) ^ 0x5eed_e17e);
    let zhejiang = rng.bool();
    let (city, area) = if zhejiang {
        ZHEJIANG_CITIES[rng.usize(..ZHEJIANG_CITIES.len())]
    } else {
        JIANGSU_CITIES[rng.usize(..JIANGSU_CITIES.len())]
    };
    let word = NAME_WORDS[rng.usize(..NAME_WORDS.len())];
    let trade = NAME_TRADES[rng.usize(..NAME_TRADES.len())];
    Enterprise {
        name: format!("{city}市{word}{trade}"),
        code: format!("{area}96{:04}", rng.u32(..10_000)),
        region: if zhejiang { "Zhejiang" } else { "Jiangsu" },
    }
}

/// Logistics enterprises with their customs codes.
pub const LOGISTICS: &[(&str, &str)] = &[
    ("6528980011", "中国邮政速递物流股份有限公司新疆分公司"),
    ("3318980452", "菜鸟供应链管理有限公司"),
    ("6528980231", "中铁快运股份有限公司乌鲁木齐分公司"),
    ("3201980077", "圆通速递国际物流有限公司"),
    ("3318981203", "义乌中欧班列物流有限公司"),
];

/// A waybill number in the style of the logistics company `logistics`.
pub fn waybill(rng: &mut Rng, logistics: usize) -> String {
    match logistics {
        0 => format!("EA{:09}CN", rng.u64(..1_000_000_000)),
        1 => format!("LP{:014}", rng.u64(..100_000_000_000_000)),
        2 => format!("ZTKY{:012}", rng.u64(..1_000_000_000_000)),
        3 => format!("YT{:013}", rng.u64(..10_000_000_000_000)),
        _ => format!("YWZO{:010}", rng.u64(..10_000_000_000)),
    }
}

/// Owner codes (with category `U`) of containers on China–Central Asia trains.
const CONTAINER_OWNERS: &[&str] = &[
    "TBJU", "CRSU", "TGHU", "CSQU", "MEDU", "CAIU", "TCNU", "BMOU", "TEMU", "FCIU", "CRXU", "TWCU",
    "CICU", "UETU",
];

/// A valid ISO 6346 container number.
pub fn container_no(rng: &mut Rng) -> String {
    let owner = CONTAINER_OWNERS[rng.usize(..CONTAINER_OWNERS.len())];
    let first_ten = format!("{owner}{:06}", rng.u32(..1_000_000));
    let check = iso6346_check_digit(&first_ten).expect("letters and digits");
    format!("{first_ten}{check}")
}

/// A container number whose check digit is wrong (for hostile data).
pub fn bad_container_no(rng: &mut Rng) -> String {
    let good = container_no(rng);
    let check = good.as_bytes()[10] - b'0';
    format!("{}{}", &good[..10], (check + 1) % 10)
}

/// A valid broad-gauge flat wagon number (kind 4).
pub fn broad_gauge_wagon(rng: &mut Rng) -> String {
    let first_seven = format!("4{:06}", rng.u32(..1_000_000));
    let check = wagon_check_digit(&first_seven).expect("digits");
    format!("{first_seven}{check}")
}

/// A Chinese standard-gauge flat wagon number (7 digits, X70 series).
pub fn standard_gauge_wagon(rng: &mut Rng) -> String {
    format!("{}", 5_200_000 + rng.u32(..800_000))
}

/// Notes officers write on holds.
pub const NOTES: &[&str] = &[
    "已联系企业补充发票 · invoice requested from the shipper",
    "等待机检图像复核 · waiting for X-ray image review",
    "HS编码与品名不符，要求企业更正 · HS code corrected by the enterprise",
    "重量差异在合理范围内 · weight difference within tolerance",
    "已开箱查验，待化验结果 · opened, waiting for lab result",
    "企业申请改配下一班列 · shipper asks for the next train",
    "单证已补齐，建议放行 · documents complete, propose release",
    "已报科长审批 · sent to the section chief",
];

/// Hold reason texts, by reason code.
pub fn hold_reason_text(code: &str) -> &'static str {
    match code {
        "DOC_MISMATCH" => "单证不符：发票与清单品名不一致 · invoice and inventory do not match",
        "HS_MISMATCH" => "商品编码申报不符 · declared HS code does not match the goods",
        "UNDERVALUED" => "涉嫌低报价格 · declared value below reference price",
        "XRAY_ANOMALY" => "机检图像异常，需开箱查验 · X-ray image anomaly, container to be opened",
        "PROHIBITED" => "涉嫌夹带禁限物品 · suspected prohibited goods",
        "SANCTIONS_CHECK" => "收货人需制裁名单核查 · consignee under sanctions screening",
        "WEIGHT_MISMATCH" => "称重与申报毛重不符 · weighed gross weight differs from declaration",
        _ => "其它原因 · other reason",
    }
}

/// Simulated colleagues who claim and annotate holds.
pub const COLLEAGUES: &[&str] = &["ALK-0108", "ALK-0352", "ALK-0519"];

/// Receipt codes that are not in the domain notes.
pub const UNKNOWN_CODES: &[&str] = &["450", "610", "9999", "120A"];

/// Event types that are not in the contract.
pub const UNKNOWN_EVENT_TYPES: &[(&str, &str)] = &[
    ("railway", "train.crew_changed"),
    ("railway", "container.weighed"),
    ("customs", "declaration.tax_assessed"),
    ("customs", "declaration.audit_flag"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ContainerNo, WagonNo};

    #[test]
    fn hs_codes_have_ten_digits() {
        for g in GOODS {
            assert_eq!(g.hs_code.len(), 10, "{}", g.name);
            assert!(g.hs_code.chars().all(|c| c.is_ascii_digit()), "{}", g.name);
            assert!(g.unit_cents.0 < g.unit_cents.1, "{}", g.name);
        }
    }

    #[test]
    fn generated_identifiers_are_valid() {
        let mut rng = Rng::with_seed(7);
        for _ in 0..500 {
            assert!(ContainerNo::new(container_no(&mut rng)).is_valid());
            assert!(!ContainerNo::new(bad_container_no(&mut rng)).is_valid());
            let wagon = WagonNo::new(broad_gauge_wagon(&mut rng));
            assert!(wagon.is_valid());
            assert_eq!(wagon.kind(), Some(4));
        }
    }

    #[test]
    fn enterprises_are_stable_per_index() {
        let a = enterprise(1, 42);
        let b = enterprise(1, 42);
        assert_eq!(a.name, b.name);
        assert_eq!(a.code, b.code);
        assert_eq!(a.code.len(), 10);
        assert!(a.name.ends_with("公司"));
    }
}

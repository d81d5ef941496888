"""Each method's display names, and the methods as GET /payment_methods lists them.

The names are the customer's words for a method, in the three languages KOMOJU speaks; the
hosted payment page shows them too.
"""

from __future__ import annotations

from typing import Any

from komoju_server.domain.cards import BRAND_PREFIXES
from komoju_server.methods.catalogue import CARRIERS, KONBINI_STORES, METHODS

# type -> (English, Japanese, Korean)
NAMES: dict[str, tuple[str, str, str]] = {
    "credit_card": ("Credit Card", "クレジットカード", "신용카드"),
    "konbini": ("Konbini", "コンビニ", "편의점"),
    "bank_transfer": ("Bank Transfer", "銀行振込", "은행 송금"),
    "pay_easy": ("Pay-easy", "ペイジー", "페이지"),
    "web_money": ("WebMoney", "ウェブマネー", "웹머니"),
    "net_cash": ("NET CASH", "NET CASH", "NET CASH"),
    "bit_cash": ("BitCash", "ビットキャッシュ", "비트캐시"),
    "nanaco": ("nanaco", "nanaco", "nanaco"),
    "steam_prepaid_card": ("Steam Prepaid Card", "Steamプリペイドカード", "스팀 선불카드"),
    "japan_mobile": ("Carrier Billing", "キャリア決済", "휴대폰 결제 (일본)"),
    "mobile": ("Mobile Payment (Korea)", "携帯電話決済（韓国）", "휴대폰 소액결제"),
    "line_pay": ("LINE Pay", "LINE Pay", "LINE Pay"),
    "merpay": ("Merpay", "メルペイ", "메루페이"),
    "paidy": ("Paidy", "Paidy あと払い", "Paidy"),
    "happy_money": ("Happy Money", "ハッピーマネー", "해피머니"),
    "culture_voucher": ("Culture Voucher", "カルチャーランド", "컬쳐랜드 문화상품권"),
    "toss": ("Toss", "Toss", "토스"),
    "cvs": ("Convenience Store (Korea)", "コンビニ（韓国）", "편의점 결제"),
    "dospara": ("Dospara", "ドスパラ", "도스파라"),
    "zgold": ("ZGold", "ZGold", "ZGold"),
    "paysafe_cash": ("paysafecash", "paysafecash", "paysafecash"),
    "paysafe_card": ("paysafecard", "paysafecard", "paysafecard"),
    "nexus_transfer": ("Nexus Transfer", "Nexus振込", "Nexus 송금"),
    "paypay": ("PayPay", "PayPay", "PayPay"),
    "rakutenpay": ("Rakuten Pay", "楽天ペイ", "라쿠텐 페이"),
    "aupay": ("au PAY", "au PAY", "au PAY"),
    "linepay": ("LINE Pay", "LINE Pay", "LINE Pay"),
    "epospay": ("EPOS Pay", "エポスPay", "EPOS Pay"),
    "komoju_pay": ("KOMOJU Pay", "KOMOJU Pay", "KOMOJU Pay"),
    "docomo": ("d Payment (docomo)", "d払い", "d払い (docomo)"),
    "au": ("au Easy Payment", "auかんたん決済", "au 간편결제"),
    "softbank": ("SoftBank Matomete Shiharai", "ソフトバンクまとめて支払い", "소프트뱅크 통합결제"),
    "credit_card_korea": ("Korean Credit Card", "韓国クレジットカード", "국내 신용카드"),
    "kakaopay": ("Kakao Pay", "カカオペイ", "카카오페이"),
    "naverpay": ("Naver Pay", "ネイバーペイ", "네이버페이"),
    "payco": ("PAYCO", "PAYCO", "페이코"),
    "alipay": ("Alipay", "アリペイ", "알리페이"),
    "alipay_hk": ("AlipayHK", "AlipayHK", "AlipayHK"),
    "wechatpay": ("WeChat Pay", "WeChat Pay", "위챗페이"),
    "unionpay": ("UnionPay", "銀聯", "유니온페이"),
    "dana": ("DANA", "DANA", "DANA"),
    "ovo": ("OVO", "OVO", "OVO"),
    "doku_wallet": ("DOKU Wallet", "DOKU Wallet", "DOKU Wallet"),
    "gcash": ("GCash", "GCash", "GCash"),
    "dragonpay": ("Dragonpay", "Dragonpay", "Dragonpay"),
    "grabpayotp": ("GrabPay", "GrabPay", "GrabPay"),
    "tng": ("Touch 'n Go eWallet", "Touch 'n Go eWallet", "Touch 'n Go eWallet"),
    "fpx": ("FPX", "FPX", "FPX"),
    "enets": ("eNETS", "eNETS", "eNETS"),
    "truemoney": ("TrueMoney", "TrueMoney", "TrueMoney"),
    "ideal": ("iDEAL", "iDEAL", "iDEAL"),
    "bancontact": ("Bancontact", "Bancontact", "Bancontact"),
    "eps": ("EPS", "EPS", "EPS"),
    "giropay": ("giropay", "giropay", "giropay"),
    "sofortbanking": ("Sofort", "Sofort", "Sofort"),
    "mybank": ("MyBank", "MyBank", "MyBank"),
    "paysera": ("Paysera", "Paysera", "Paysera"),
    "payu": ("PayU", "PayU", "PayU"),
    "blik": ("BLIK", "BLIK", "BLIK"),
    "przelewy24": ("Przelewy24", "Przelewy24", "Przelewy24"),
    "multibanco": ("Multibanco", "Multibanco", "Multibanco"),
    "sepa_transfer": ("SEPA Bank Transfer", "SEPA銀行振込", "SEPA 계좌이체"),
    "narvesen": ("Narvesen", "Narvesen", "Narvesen"),
    "perlas": ("Perlas Terminals", "Perlas Terminals", "Perlas Terminals"),
    "paypost": ("PayPost", "PayPost", "PayPost"),
    "poli": ("POLi", "POLi", "POLi"),
    "credit_card_brazil": ("Brazilian Credit Card", "ブラジルクレジットカード", "브라질 신용카드"),
    "pix": ("Pix", "Pix", "Pix"),
}
LANGUAGES = ("en", "ja", "ko")

# The variants a method lists as `subtypes`: the brands a card may be, the stores a konbini
# slip is paid at, the carriers that bill.
SUBTYPES: dict[str, tuple[str, ...]] = {
    "credit_card": tuple(sorted(brand for _prefixes, brand in BRAND_PREFIXES)),
    "credit_card_korea": tuple(sorted(brand for _prefixes, brand in BRAND_PREFIXES)),
    "credit_card_brazil": tuple(sorted(brand for _prefixes, brand in BRAND_PREFIXES)),
    "konbini": KONBINI_STORES,
    "japan_mobile": CARRIERS,
}


def name(method_type: str, locale: str) -> str:
    names = NAMES[method_type]
    return names[LANGUAGES.index(locale)] if locale in LANGUAGES else names[0]


def available_methods() -> list[dict[str, Any]]:
    """GET /payment_methods: one entry per method and currency it takes (as KOMOJU answers, a
    plain list), with the limits on a payment's total (this server's addition)."""
    found: list[dict[str, Any]] = []
    for method in METHODS:
        en, ja, ko = NAMES[method.type]
        for currency, (least, most) in method.limits.items():
            entry: dict[str, Any] = {
                "type_slug": method.type,
                "name_en": en,
                "name_ja": ja,
                "name_ko": ko,
                "currency": currency,
                "payment_method_fee": 0,
                "min_amount": least,
                "max_amount": most,
            }
            if method.type in SUBTYPES:
                entry["subtypes"] = list(SUBTYPES[method.type])
            found.append(entry)
    return found

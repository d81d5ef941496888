"""How a customer pays a konbini slip, a bank transfer or a Pay-easy number, step by step: data,
in one place, per store and per language.

Steps follow what each chain's terminal or register asks for, as KOMOJU's help pages and the
chains describe it: 7-Eleven takes a payment slip number at the register; Lawson and Ministop
a reception and a confirmation number at the Loppi terminal; FamilyMart a first (company code)
and second (order) number at its multi-copy machine (Famiport); Daily Yamazaki and Seicomart an
online payment number at the register. A step may name a payment detail in braces
(`{receipt}`, `{confirmation_code}`, `{order_id}`, ...): the page fills it in from the payment.
tests/pages/test_instructions_inprocess.py checks every store and language is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Steps = Mapping[str, tuple[str, ...]]  # language -> steps, in order


@dataclass(frozen=True)
class Chain:
    """A konbini chain: its name and its words for the slip's numbers (message keys of
    messages/instructions.json), and how to pay there."""

    name: str
    receipt: str  # what the chain calls the payment's `receipt`
    confirmation: str  # what it calls the `confirmation_code`, when the slip has one
    steps: Steps


_LOPPI: Steps = {
    "ja": (
        "店内のLoppi端末のトップ画面で「各種番号をお持ちの方」を選びます。",
        "受付番号「{receipt}」を入力し、「次へ」を押します。",
        "確認番号「{confirmation_code}」を入力し、「次へ」を押します。",
        "お支払い内容を確認して「はい」を押すと、申込券が印刷されます。",
        "申込券を30分以内にレジへお持ちになり、現金でお支払いください。",
        "「取扱明細兼領収書」を必ずお受け取りください。",
    ),
    "en": (
        "On the Loppi terminal in the store, choose 各種番号をお持ちの方 (I have a number) on the top screen.",
        "Enter the reception number {receipt} and press 次へ (Next).",
        "Enter the confirmation number {confirmation_code} and press 次へ (Next).",
        "Check the payment details and press はい (Yes): an application slip is printed.",
        "Take the slip to the register within 30 minutes and pay in cash.",
        "Keep the receipt (取扱明細兼領収書) you are given.",
    ),
    "ko": (
        "매장 안 Loppi 단말기 첫 화면에서 「各種番号をお持ちの方」(번호를 가지고 계신 분)을 선택합니다.",
        "접수 번호 {receipt}을(를) 입력하고 「次へ」(다음)를 누릅니다.",
        "확인 번호 {confirmation_code}을(를) 입력하고 「次へ」(다음)를 누릅니다.",
        "결제 내용을 확인하고 「はい」(예)를 누르면 신청권이 인쇄됩니다.",
        "신청권을 30분 이내에 계산대로 가져가 현금으로 결제해 주세요.",
        "영수증(取扱明細兼領収書)을 꼭 받아 두세요.",
    ),
}

_AT_THE_REGISTER: Steps = {  # Daily Yamazaki, Seicomart
    "ja": (
        "レジで「インターネット支払い（オンライン決済）」とお伝えください。",
        "レジのタッチパネルにオンライン決済番号「{receipt}」を入力します。",
        "確認番号を求められたら「{confirmation_code}」を入力します。",
        "レジの画面でお支払い内容を確認し、「OK」を押します。",
        "現金でお支払いください。",
        "領収書を必ずお受け取りください。",
    ),
    "en": (
        "At the register, tell the staff you want to make an online payment (インターネット支払い).",
        "Enter the online payment number {receipt} on the register's touch panel.",
        "If asked for a confirmation number, enter {confirmation_code}.",
        "Check the payment details on the register's screen and press OK.",
        "Pay in cash.",
        "Keep the receipt you are given.",
    ),
    "ko": (
        "계산대에서 「インターネット支払い」(온라인 결제)를 하겠다고 말씀해 주세요.",
        "계산대 터치 패널에 온라인 결제 번호 {receipt}을(를) 입력합니다.",
        "확인 번호를 요청받으면 {confirmation_code}을(를) 입력합니다.",
        "계산대 화면에서 결제 내용을 확인하고 「OK」를 누릅니다.",
        "현금으로 결제해 주세요.",
        "영수증을 꼭 받아 두세요.",
    ),
}

KONBINI: dict[str, Chain] = {
    "seven-eleven": Chain(
        "instructions.store_seven_eleven",
        "instructions.label_slip_number",
        "instructions.label_confirmation_number",
        {
            "ja": (
                "セブン-イレブンのレジで「インターネット支払い」とお伝えください。",
                "払込票番号（13桁）「{receipt}」をお伝えいただくか、この画面を提示してください。",
                "金額を確認し、現金（またはnanaco）でお支払いください。",
                "領収書を必ずお受け取りください。",
            ),
            "en": (
                "At the register of any 7-Eleven, say you want to make an internet payment (インターネット支払い).",
                "Tell the staff the 13-digit payment slip number {receipt}, or show them this page.",
                "Check the amount and pay in cash (nanaco is accepted too).",
                "Keep the receipt you are given.",
            ),
            "ko": (
                "세븐일레븐 계산대에서 「インターネット支払い」(인터넷 결제)를 하겠다고 말씀해 주세요.",
                "13자리 납부표 번호 {receipt}을(를) 알려 주시거나 이 화면을 보여 주세요.",
                "금액을 확인하고 현금(또는 nanaco)으로 결제해 주세요.",
                "영수증을 꼭 받아 두세요.",
            ),
        },
    ),
    "lawson": Chain(
        "instructions.store_lawson",
        "instructions.label_reception_number",
        "instructions.label_confirmation_number",
        _LOPPI,
    ),
    "ministop": Chain(
        "instructions.store_ministop",
        "instructions.label_reception_number",
        "instructions.label_confirmation_number",
        _LOPPI,
    ),
    "family-mart": Chain(
        "instructions.store_family_mart",
        "instructions.label_second_number",
        "instructions.label_first_number",
        {
            "ja": (
                "店内のマルチコピー機（Famiポート）のトップ画面で「代金支払い」を選び、「次へ」を押します。",
                "「番号入力」を選びます。",
                "第1番号（企業コード・5桁）「{confirmation_code}」を入力し、「OK」を押します。",
                "第2番号（注文番号・12桁）「{receipt}」を入力し、「OK」を押します。",
                "お支払い内容を確認して「確定」を押すと、申込券が印刷されます。",
                "申込券を30分以内にレジへお持ちになり、現金（またはFamiPay）でお支払いください。",
                "領収書を必ずお受け取りください。",
            ),
            "en": (
                "On the multi-copy machine (Famiport) in the store, choose 代金支払い (Payments), "
                "then press 次へ (Next).",
                "Choose 番号入力 (Enter number).",
                "Enter the first number (5-digit company code) {confirmation_code} and press OK.",
                "Enter the second number (12-digit order number) {receipt} and press OK.",
                "Check the payment details and press 確定 (Confirm): an application slip is printed.",
                "Take the slip to the register within 30 minutes and pay in cash (or with FamiPay).",
                "Keep the receipt you are given.",
            ),
            "ko": (
                "매장 안 멀티 복사기(Famiポート) 첫 화면에서 「代金支払い」(대금 지불)를 선택하고 "
                "「次へ」(다음)를 누릅니다.",
                "「番号入力」(번호 입력)를 선택합니다.",
                "제1번호(기업 코드 5자리) {confirmation_code}을(를) 입력하고 「OK」를 누릅니다.",
                "제2번호(주문 번호 12자리) {receipt}을(를) 입력하고 「OK」를 누릅니다.",
                "결제 내용을 확인하고 「確定」(확정)을 누르면 신청권이 인쇄됩니다.",
                "신청권을 30분 이내에 계산대로 가져가 현금(또는 FamiPay)으로 결제해 주세요.",
                "영수증을 꼭 받아 두세요.",
            ),
        },
    ),
    "daily-yamazaki": Chain(
        "instructions.store_daily_yamazaki",
        "instructions.label_online_payment_number",
        "instructions.label_confirmation_number",
        _AT_THE_REGISTER,
    ),
    "seicomart": Chain(
        "instructions.store_seicomart",
        "instructions.label_online_payment_number",
        "instructions.label_confirmation_number",
        _AT_THE_REGISTER,
    ),
}

BANK_TRANSFER: Steps = {
    "ja": (
        "ATMまたはインターネットバンキングで、上記の口座へお振込みください。",
        "振込依頼人名には、お名前の代わりに注文番号「{order_id}」を入力してください。",
        "金額は表示どおりにお振込みください。金額が異なると入金を確認できません。",
        "振込手数料はお客様のご負担となります。",
    ),
    "en": (
        "At an ATM or with online banking, transfer to the account above.",
        "As the remitter name (振込依頼人名), enter the order number {order_id} instead of your name.",
        "Transfer exactly the amount shown: a different amount cannot be matched to this payment.",
        "Any transfer fee is yours to pay.",
    ),
    "ko": (
        "ATM 또는 인터넷 뱅킹으로 위 계좌에 송금해 주세요.",
        "송금인 이름(振込依頼人名)에는 이름 대신 주문 번호 {order_id}을(를) 입력해 주세요.",
        "표시된 금액 그대로 송금해 주세요. 금액이 다르면 입금을 확인할 수 없습니다.",
        "송금 수수료는 고객님 부담입니다.",
    ),
}

PAY_EASY_ATM: Steps = {
    "ja": (
        "ペイジーマークのある銀行ATMで「税金・料金払込み」を選びます。",
        "収納機関番号「{bank_id}」を入力します。",
        "お客様番号「{customer_id}」を入力します。",
        "確認番号「{confirmation_id}」を入力します。",
        "表示された内容を確認し、現金またはキャッシュカードでお支払いください。",
    ),
    "en": (
        "At a bank ATM showing the Pay-easy mark, choose 税金・料金払込み (Taxes and bill payments).",
        "Enter the payee number (収納機関番号) {bank_id}.",
        "Enter the customer number (お客様番号) {customer_id}.",
        "Enter the confirmation number (確認番号) {confirmation_id}.",
        "Check what is shown and pay in cash or with your bank card.",
    ),
    "ko": (
        "페이지(Pay-easy) 마크가 있는 은행 ATM에서 「税金・料金払込み」(세금・요금 납부)를 선택합니다.",
        "수납기관 번호(収納機関番号) {bank_id}을(를) 입력합니다.",
        "고객 번호(お客様番号) {customer_id}을(를) 입력합니다.",
        "확인 번호(確認番号) {confirmation_id}을(를) 입력합니다.",
        "표시된 내용을 확인하고 현금 또는 현금카드로 결제해 주세요.",
    ),
}

PAY_EASY_ONLINE: Steps = {
    "ja": (
        "お使いの金融機関のインターネットバンキングにログインし、「税金・各種料金の払込み（ペイジー）」を選びます。",
        "収納機関番号「{bank_id}」、お客様番号「{customer_id}」、確認番号「{confirmation_id}」を入力します。",
        "表示された内容を確認し、お支払いを確定してください。",
    ),
    "en": (
        "Log in to your bank's online banking and choose the Pay-easy (ペイジー) tax and bill payment service.",
        "Enter the payee number {bank_id}, the customer number {customer_id} and the confirmation number "
        "{confirmation_id}.",
        "Check what is shown and confirm the payment.",
    ),
    "ko": (
        "이용하시는 금융기관의 인터넷 뱅킹에 로그인하여 페이지(ペイジー) 세금・요금 납부를 선택합니다.",
        "수납기관 번호 {bank_id}, 고객 번호 {customer_id}, 확인 번호 {confirmation_id}을(를) 입력합니다.",
        "표시된 내용을 확인하고 결제를 확정해 주세요.",
    ),
}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def filled(steps: Steps, locale: str, details: Mapping[str, object]) -> list[str]:
    """The steps in `locale`, with the payment's numbers in place (escaped later, by the template)."""
    values = _Blank({name: "" if value is None else str(value) for name, value in details.items()})
    return [step.format_map(values) for step in steps[locale]]

"""The embedded text guard's rules: (id, category, label, pattern), English and Japanese.

Patterns run on normalised text (NFKC, lower case, invisible characters removed). English words are bounded so a
fragment inside an ordinary word does not fire ("skill" is not "kill"); Japanese rules name whole words and list the
ordinary words that merely contain a risky character ("殺風景", "血色").
"""
from __future__ import annotations

from review.labels import COPYRIGHT, ILLEGAL, JAILBREAK, POLITICAL, SELF_HARM, SEXUAL, UNETHICAL, VIOLENT, Label

U, C = Label.UNSAFE, Label.CONTROVERSIAL

_PERSON = r"(?:him|her|them|me|the\s+(?:man|woman|person|people|girl|boy|child|kid|guy|lady|crowd)|my\s+\w+)"

RULES: tuple[tuple[str, str, Label, str], ...] = (
    # --- sexual content; with a minor it is a separate, always-Unsafe rule (see MINOR below)
    ("sexual.undress.en", SEXUAL, U,
     r"\b(?:undress(?:ed|ing)?|nudif(?:y|ied)|de-?cloth(?:e|ing)|strip(?:ped)?\s+(?:naked|nude|" + _PERSON + r")|"
     r"(?:remove|take\s+off|erase|delete)\s+(?:all\s+)?(?:of\s+)?(?:his|her|their|the\s+\w+'s|the)\s+"
     r"(?:clothes|clothing|shirt|top|dress|bra|underwear|panties|bikini|swimsuit|pants|trousers|skirt))\b"),
    ("sexual.explicit.en", SEXUAL, U,
     r"\b(?:naked|nude|nudity|topless|bottomless|porn\w*|pornographic|hentai|nsfw|xxx|explicit\s+sex\w*|sex\s+(?:act|scene)|"
     r"genitals?|nipples?|penis|vagina|erotic\w*|having\s+sex|sexual\s+(?:act|intercourse|pose))\b"),
    ("sexual.undress.ja", SEXUAL, U, r"脱がせ|脱がし|脱がす|服を(?:脱|取|消|外)|衣服を(?:脱|取|消)|裸に|全裸|半裸|丸裸|ヌード|ヌーディ|"
     r"下着を(?:脱|取|消)|水着を(?:脱|取|消)"),
    ("sexual.explicit.ja", SEXUAL, U, r"裸|エロ|ポルノ|セックス|性行為|性器|乳首|猥褻|わいせつ|アダルト画像|18禁|r-?18"),
    ("sexual.suggestive.en", SEXUAL, C,
     r"\b(?:sexy|seductive|sensual|lingerie|underwear|bikini|cleavage|provocative(?:ly)?|lewd|busty)\b"),
    ("sexual.suggestive.ja", SEXUAL, C, r"セクシー|下着|ランジェリー|水着|ビキニ|胸の谷間|色っぽ|官能"),
    # --- violence and gore
    ("violent.gore.en", VIOLENT, U,
     r"\b(?:gore|gory|dismember\w*|decapitat\w*|behead\w*|mutilat\w*|disembowel\w*|blood[- ]?soaked|"
     r"covered\s+in\s+blood|bloody\s+(?:wounds?|corpse|body|face)|corpses?|dead\s+bod(?:y|ies)|severed\s+(?:head|limbs?|arms?|legs?)|"
     r"massacre\w*|tortur\w*|execution\s+scene)\b"),
    ("violent.attack.en", VIOLENT, U,
     r"\b(?:kill|murder|stab|shoot|behead|strangle|slit\s+the\s+throat\s+of|beat\s+up|burn)\w*\s+" + _PERSON + r"|"
     r"\b(?:make|show)\s+" + _PERSON + r"\s+(?:dead|bleeding|wounded|injured)\b"),
    ("violent.gore.ja", VIOLENT, U, r"(?<![相黙忙悩自])殺(?!風景|菌|虫|到|陣)|血まみれ|血だらけ|流血|出血|惨殺|斬首|死体|遺体|拷問|グロ(?:テスク)?|"
     r"首を(?:切|はね)|内臓|虐殺|撃ち殺|刺し殺|刺さ(?:れ|せ)"),
    ("violent.weapon.en", VIOLENT, C, r"\b(?:blood(?!\s+oranges?)(?:y)?|wounds?|weapons?|guns?|rifles?|pistols?|knife|knives|bomb|explosion)\b"),
    ("violent.weapon.ja", VIOLENT, C, r"(?<![色統圧管縁])血(?![色圧統管縁液])|傷口|武器|銃|ナイフ|爆弾|爆発"),
    # --- self-harm
    ("selfharm.en", SELF_HARM, U,
     r"\b(?:suicid\w*|self[- ]?harm\w*|cut(?:ting)?\s+(?:my|his|her|their)\s+wrists?|slit\w*\s+wrists?|hang(?:ing|ed)?\s+(?:him|her|my|them)sel(?:f|ves)|"
     r"kill\s+(?:my|him|her|them)sel(?:f|ves))\b"),
    ("selfharm.ja", SELF_HARM, U, r"自殺|自傷|自害|リスト?カット|リスカ|首吊り|首つり|飛び降り自殺|死にたい"),
    # --- non-violent illegal acts: forged documents, counterfeit money, drugs
    ("illegal.forgery.en", ILLEGAL, U,
     r"\b(?:forg(?:e|ed|ery|ing)|fake|counterfeit\w*|falsif\w*)\s+(?:an?\s+|the\s+|my\s+)?(?:\w+\s+)?"
     r"(?:passports?|id\s+cards?|ids?|driver'?s\s+licen[cs]es?|licen[cs]es?|banknotes?|money|bills?|currency|checks?|cheques?|"
     r"diplomas?|certificates?|signatures?|receipts?|invoices?|documents?|stamps?|seals?)\b"),
    ("illegal.forgery.ja", ILLEGAL, U, r"偽造|偽札|偽物のパスポート|偽の(?:パスポート|免許証|身分証|証明書|領収書|印鑑)|文書偽|改ざん|改竄"),
    ("illegal.drugs.en", ILLEGAL, C, r"\b(?:cocaine|heroin|meth(?:amphetamine)?|drug\s+deal\w*|marijuana|cannabis)\b"),
    ("illegal.drugs.ja", ILLEGAL, C, r"麻薬|覚醒剤|覚せい剤|大麻|コカイン|ヘロイン"),
    # --- hate (Unethical Acts in the Qwen3Guard scheme)
    ("hate.symbols.en", UNETHICAL, U, r"\b(?:swastikas?|nazi\w*|kkk|ku\s+klux\s+klan|white\s+power|heil\s+hitler|ss\s+bolts)\b"),
    ("hate.symbols.ja", UNETHICAL, U, r"ナチス|ナチ党|鉤十字|ハーケンクロイツ|ヒトラー万歳"),
    ("hate.slurs.en", UNETHICAL, U, r"\b(?:nigg(?:er|a)s?|fagg?ots?|kikes?|chinks?|spics?|retards?|trann(?:y|ies))\b"),
    ("hate.slurs.ja", UNETHICAL, U, r"チョン|シナ人|土人|ガイジ|キチガイ"),
    ("unethical.mock.en", UNETHICAL, C, r"\b(?:humiliat\w*|mock\w*|bully\w*|blackface)\b"),
    # --- politically sensitive: fabricated scenes of real politicians
    ("political.figures.en", POLITICAL, C,
     r"\b(?:trump|biden|obama|putin|zelensk(?:y|yy)|xi\s+jinping|kim\s+jong[- ]un|netanyahu|macron|modi|"
     r"kishida|abe\s+shinzo|shinzo\s+abe|ishiba|takaichi|the\s+pope|the\s+emperor|president\s+\w+|prime\s+minister)\b"),
    ("political.figures.ja", POLITICAL, C, r"トランプ|バイデン|オバマ|プーチン|ゼレンスキー|習近平|金正恩|岸田|安倍|石破|高市|首相|大統領|天皇"),
    ("political.fabrication.en", POLITICAL, C, r"\b(?:fake\s+news|propaganda|election\s+fraud|deepfake)\b"),
    ("political.fabrication.ja", POLITICAL, C, r"フェイクニュース|ディープフェイク|プロパガンダ|選挙"),
    # --- copyright: characters, studios, brands, watermark removal
    ("copyright.characters.en", COPYRIGHT, C,
     r"\b(?:mickey\s+mouse|disney|pixar|pikachu|pok[eé]mon|ghibli|totoro|marvel|spider-?man|batman|superman|"
     r"super\s+mario|mario|doraemon|hello\s+kitty|naruto|one\s+piece|star\s+wars|harry\s+potter|minions?|snoopy|"
     r"nike\s+logo|apple\s+logo|coca[- ]cola\s+logo|(?:their|the|its)\s+logo|brand\s+logo)\b"),
    ("copyright.style.en", COPYRIGHT, C, r"\bin\s+the\s+style\s+of\s+[a-z][\w.'-]*(?:\s+[a-z][\w.'-]*)?"),
    ("copyright.watermark.en", COPYRIGHT, C, r"\b(?:remove|erase|delete|get\s+rid\s+of|crop\s+out)\s+(?:the\s+|a\s+|any\s+)?(?:watermarks?|copyright\s+(?:notice|mark)|signature|credit)\b"),
    ("copyright.characters.ja", COPYRIGHT, C, r"ミッキー|ディズニー|ピクサー|ピカチュウ|ポケモン|ジブリ|トトロ|マーベル|スパイダーマン|"
     r"バットマン|スーパーマン|マリオ|ドラえもん|ハローキティ|キティちゃん|ナルト|ワンピース|スターウォーズ|ハリーポッター|ロゴ"),
    ("copyright.style.ja", COPYRIGHT, C, r"[^\s、。]{2,20}(?:風の絵柄|の画風|のタッチで|のスタイルで)"),
    ("copyright.watermark.ja", COPYRIGHT, C, r"(?:透かし|ウォーターマーク|著作権表示|クレジット)を?(?:消|削除|取|除去)"),
    # --- jailbreak phrasing
    ("jailbreak.en", JAILBREAK, U,
     r"\b(?:ignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|your)\s+(?:instructions|rules|prompts?)|"
     r"developer\s+mode|jailbreak\w*|do\s+anything\s+now|bypass\s+(?:the\s+|your\s+)?(?:filter|safety|guard|moderation)\w*|"
     r"without\s+(?:any\s+)?(?:censorship|restrictions|safety\s+filters?)|uncensored)\b"),
    ("jailbreak.ja", JAILBREAK, U, r"(?:以前|前|上記|これまで)の指示を無視|制限を(?:無視|解除|外)|フィルターを(?:無視|回避|解除)|検閲なし|脱獄"),
)

# Words that make a sexual rule about a minor: the combination is always Unsafe.
MINOR = (r"\b(?:child|children|kid|kids|minor|minors|underage|under-?age|teen|teens|teenager|teenage|schoolgirl|schoolboy|"
         r"loli|lolita|shota|toddler|infant|baby|little\s+girl|little\s+boy|\d{1,2}[- ]?(?:year|yr)s?[- ]?old)\b|"
         r"子供|子ども|こども|児童|少女|少年|幼女|幼児|幼い|小学生|中学生|女子中学生|女子高生|未成年|ロリ|ショタ|[0-9]{1,2}歳")

# PII, found by shape; card numbers must also pass the Luhn check.
# Bounded and anchored at a run's start: linear time on any input (an unbounded `[\w.]+@` is quadratic).
EMAIL = r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"
PHONE = r"(?<!\d)(?:\+?\d{1,3}[ -]?)?(?:\(?0\d{1,4}\)?[ -]?)\d{2,4}[ -]\d{3,4}(?!\d)"
CARD = r"(?<!\d)(?:\d[ -]?){13,19}(?!\d)"
MY_NUMBER = r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)"

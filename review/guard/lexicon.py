"""The embedded text guard's rules: (id, category, label, pattern), English and Japanese.

Patterns run on normalised text (NFKC, lower case, invisible characters removed). English words are bounded so a
fragment inside an ordinary word does not fire ("skill" is not "kill"); Japanese rules name whole words and list the
ordinary words that merely contain a risky character ("殺風景", "血色").
"""
from __future__ import annotations

from review.guard.labels import COPYRIGHT, ILLEGAL, JAILBREAK, POLITICAL, SELF_HARM, SEXUAL, UNETHICAL, VIOLENT, Label

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
    ("sexual.explicit.ja", SEXUAL, U, r"(?<!赤)裸(?!足|眼|電球|一貫)|エロ|ポルノ|セックス|性行為|性器|乳首|猥褻|わいせつ|アダルト画像|18禁|r-?18"),
    ("sexual.suggestive.en", SEXUAL, C,
     r"\b(?:sexy|seductive|sensual|lingerie|underwear|bikini|cleavage|provocative(?:ly)?|lewd|busty)\b"),
    ("sexual.suggestive.ja", SEXUAL, C, r"セクシー|下着|ランジェリー|水着|ビキニ|胸の谷間|色っぽ|官能"),
    # --- violence and gore
    ("violent.gore.en", VIOLENT, U,
     r"\b(?:gore|gory|dismember\w*|decapitat\w*|behead\w*|mutilat\w*|disembowel\w*|blood[- ]?soaked|"
     r"covered\s+in\s+blood|bloody\s+(?:wounds?|corpse|body|face)|corpses?|dead\s+bod(?:y|ies)|severed\s+(?:head|limbs?|arms?|legs?)|"
     r"massacre\w*|tortur\w*|execution\s+scene)\b"),
    ("violent.attack.en", VIOLENT, U,
     r"\b(?:kill|murder|stab|shoot|shot|behead|strangle|slit\s+the\s+throat\s+of|beat\s+up|burn)\w*\s+" + _PERSON + r"|"
     r"\b(?:make|show)\s+" + _PERSON + r"\s+(?:dead|bleeding|wounded|injured)\b"),
    ("violent.gore.ja", VIOLENT, U, r"(?<![相黙忙悩自])殺(?!風景|菌|虫|到|陣)|血まみれ|血だらけ|流血|出血|惨殺|斬首|死体|遺体|拷問|グロ(?:テスク)?|"
     r"首を(?:切|はね)|内臓|虐殺|撃ち殺|刺し殺|刺さ(?:れ|せ)"),
    # a weapon turned on a body: these stand whatever the context guard reads (review/guard/context.py)
    ("violent.threat.en", VIOLENT, U,
     r"\b(?:knife|knives|gun|pistol|rifle|revolver|blade|sword|machete)s?\b[^.;!?]{0,40}?\b(?:to|at|into|in|against|through)\s+"
     r"(?:his|her|their|my|your|the\s+\w+'s)\s+(?:head|chest|throat|neck|face|heart|stomach|belly|temple|back|eye)s?\b|"
     r"\bpoint(?:s|ing|ed)?\s+(?:a|the|his|her|their)\s+(?:gun|pistol|rifle|revolver|knife)\s+at\s+" + _PERSON + r"\b"),
    ("violent.threat.ja", VIOLENT, U, r"(?:銃|拳銃|ナイフ|包丁|刃物|刀)[^。、]{0,12}?(?:突きつけ|突き付け|刺し|刺さ)"),
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
     r"super\s+mario|mario|doraemon|hello\s+kitty|naruto|one\s+piece(?![\s-]+(?:of|taken|swimsuit|bathing|suit|dress))|star\s+wars|harry\s+potter|minions?|snoopy|"
     r"nike\s+logo|apple\s+logo|coca[- ]cola\s+logo|(?:their|the|its)\s+logo|brand\s+logo)\b"),
    ("copyright.style.en", COPYRIGHT, C, r"\bin\s+the\s+style\s+of\s+(?!(?:a|an)\s)[a-z][\w.'-]*(?:\s+[a-z][\w.'-]*)?"),
    ("copyright.watermark.en", COPYRIGHT, C, r"\b(?:remove|erase|delete|get\s+rid\s+of|crop\s+out)\s+(?:the\s+|a\s+|any\s+)?(?:watermarks?|copyright\s+(?:notice|mark)|signature|credit)\b"),
    ("copyright.characters.ja", COPYRIGHT, C, r"ミッキー|ディズニー|ピクサー|ピカチュウ|ポケモン|ジブリ|トトロ|マーベル|スパイダーマン|"
     r"バットマン|スーパーマン|マリオ|ドラえもん|ハローキティ|キティちゃん|ナルト|スターウォーズ|ハリーポッター|ロゴ|ルフィ"),
    ("copyright.style.ja", COPYRIGHT, C, r"[^\s、。]{2,20}(?:風の絵柄|の画風|のタッチで|のスタイルで)"),
    ("copyright.watermark.ja", COPYRIGHT, C, r"(?:透かし|ウォーターマーク|著作権表示|クレジット)を?(?:消|削除|取|除去)"),
    # --- jailbreak phrasing
    ("jailbreak.en", JAILBREAK, U,
     r"\b(?:ignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|your)\s+(?:instructions|rules|prompts?)|"
     r"developer\s+mode|jailbreak\w*|do\s+anything\s+now|bypass\s+(?:the\s+|your\s+)?(?:filter|safety|guard|moderation)\w*|"
     r"without\s+(?:any\s+)?(?:censorship|restrictions|safety\s+filters?)|uncensored)\b"),
    ("jailbreak.ja", JAILBREAK, U, r"(?:以前|前|上記|これまで)の指示を無視|制限を(?:無視|解除|外)|フィルターを(?:無視|回避|解除)|検閲なし|脱獄"),
)

# --- Chinese, Korean, Spanish, French, German: the same harms, the words people use for them
_MORE: tuple[tuple[str, str, Label, str], ...] = (
    ("sexual.undress.zh", SEXUAL, U, r"脱掉|脱光|扒光|裸体|全裸|赤裸|裸照|色情|性交"),
    ("sexual.suggestive.zh", SEXUAL, C, r"性感|内衣|比基尼|诱惑"),
    ("violent.gore.zh", VIOLENT, U, r"鲜血|血淋淋|砍下|砍头|斩首|尸体|杀死|枪杀|肢解"),
    ("violent.weapon.zh", VIOLENT, C, r"伤口|武器|枪|刀"),
    ("selfharm.zh", SELF_HARM, U, r"自杀|自残|割腕|上吊"),
    ("illegal.forgery.zh", ILLEGAL, U, r"伪造|假钞|假护照|假证"),
    ("hate.symbols.zh", UNETHICAL, U, r"纳粹|卐"),
    ("political.figures.zh", POLITICAL, C, r"习近平|毛泽东|普京|拜登|特朗普|总统|主席"),
    ("copyright.zh", COPYRIGHT, C, r"米老鼠|迪士尼|皮卡丘|宝可梦|吉卜力|水印"),
    ("jailbreak.zh", JAILBREAK, U, r"忽略(?:之前|以上|前面)?的?(?:所有)?(?:指令|指示|规则)|解除限制|越狱"),
    ("sexual.undress.ko", SEXUAL, U, r"옷을?\s*벗|벗겨|알몸|나체|누드|음란|성행위"),
    ("sexual.suggestive.ko", SEXUAL, C, r"섹시|속옷|비키니|야한"),
    ("violent.gore.ko", VIOLENT, U, r"피투성이|목을\s*잘|참수|시체|살해|죽여|총으로\s*쏴"),
    ("violent.weapon.ko", VIOLENT, C, r"상처|무기|총|칼"),
    ("selfharm.ko", SELF_HARM, U, r"자해|자살|손목을?\s*긋|목을?\s*매"),
    ("illegal.forgery.ko", ILLEGAL, U, r"위조|가짜\s*돈|위폐"),
    ("hate.symbols.ko", UNETHICAL, U, r"나치|하켄크로이츠|스와스티카"),
    ("political.figures.ko", POLITICAL, C, r"대통령|총리|윤석열|이재명|김정은"),
    ("copyright.ko", COPYRIGHT, C, r"피카츄|포켓몬|미키\s*마우스|디즈니|지브리|워터마크"),
    ("jailbreak.ko", JAILBREAK, U, r"(?:이전|앞의|위의)\s*(?:모든\s*)?지시(?:를|사항을)?\s*(?:모두\s*)?무시|제한을?\s*해제"),
    ("sexual.undress.es", SEXUAL, U, r"\b(?:desn[uú]d\w*|qu[ií]ta(?:le)?\s+la\s+ropa|sin\s+ropa|porno\w*)\b"),
    ("sexual.undress.fr", SEXUAL, U, r"\b(?:d[ée]shabill\w*|nue?s?|toute?\s+nue|porno\w*|enl[èe]ve\s+(?:ses|les)\s+v[êe]tements)\b"),
    ("sexual.undress.de", SEXUAL, U, r"\b(?:nackt\w*|zieh\w*\s+\w+(?:\s+\w+){0,4}\s+aus|ausziehen|entkleid\w*|porno\w*)\b"),
    ("sexual.suggestive.esfrde", SEXUAL, C, r"\b(?:sexy|sensual|lencer[ií]a|bikini|lingerie|dessous|reizw[äa]sche|aguicheu\w*)\b"),
    ("violent.gore.esfrde", VIOLENT, U,
     r"\b(?:sangre|heridas|decapitad\w*|cad[áa]ver\w*|sang|bless[ée]\w*|d[ée]capit\w*|cadavre\w*|blut\w*|wunden|"
     r"enthauptet\w*|leiche\w*|get[öo]tet|ermordet)\b"),
    ("selfharm.esfrde", SELF_HARM, U,
     r"\b(?:autolesi[óo]n\w*|suicid\w*|cortes\s+en\s+(?:sus|las)\s+mu[ñn]ecas|scarification\w*|automutilation|"
     r"ritzwunden|ritzen|selbstverletz\w*|selbstmord|suizid)\b"),
    ("illegal.forgery.esfrde", ILLEGAL, U,
     r"\b(?:falsific\w*|falsifi\w*|billetes\s+falsos|faux\s+billets|f[äa]lsch\w*|falschgeld)\b"),
    ("hate.symbols.esfrde", UNETHICAL, U, r"\b(?:esv[áa]stica|nazi\w*|croix\s+gamm[ée]e|hakenkreuz\w*)\b"),
    ("political.figures.esfrde", POLITICAL, C, r"\b(?:presidente|pr[ée]sident|kanzler\w*|premier\s+ministre|primer\s+ministro)\b"),
    ("copyright.esfrde", COPYRIGHT, C,
     r"\b(?:marca\s+de\s+agua|filigrane|wasserzeichen|micky\s+maus|mickey\s+mouse|estilo\s+de\s+(?:studio\s+)?ghibli)\b"),
    ("jailbreak.esfrde", JAILBREAK, U,
     r"\b(?:ignora\s+todas\s+las\s+instrucciones|ignore\s+toutes\s+les\s+instructions|ignoriere\s+alle\s+(?:vorherigen\s+)?anweisungen)\b"),
)
RULES = RULES + _MORE

# Words that make a sexual rule about a minor: the combination is always Unsafe.
MINOR = (r"\b(?:child|children|kid|kids|minor|minors|underage|under-?age|teen|teens|teenager|teenage|schoolgirl|schoolboy|"
         r"loli|lolita|shota|toddler|infant|baby|little\s+girl|little\s+boy|\d{1,2}[- ]?(?:year|yr)s?[- ]?old)\b|"
         r"子供|子ども|こども|児童|少女|少年|幼女|幼児|幼い|小学生|中学生|女子中学生|女子高生|未成年|ロリ|ショタ|[0-9]{1,2}歳|"
         r"小女孩|小男孩|儿童|孩子|未成年|아이|어린이|소녀|소년|미성년|"
         r"\b(?:niñ[oa]s?|menor(?:es)?|enfants?|petite\s+fille|fillette|mineure?s?|kind(?:er)?|mädchen|minderjährig\w*)\b")

# PII, found by shape; card numbers must also pass the Luhn check.
# Bounded and anchored at a run's start: linear time on any input (an unbounded `[\w.]+@` is quadratic).
EMAIL = r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"
PHONE = r"(?<!\d)(?:\+?\d{1,3}[ -]?)?(?:\(?0\d{1,4}\)?[ -]?)\d{2,4}[ -]\d{3,4}(?!\d)"
CARD = r"(?<!\d)(?:\d[ -]?){13,19}(?!\d)"
MY_NUMBER = r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)"
# A street address: Japanese (prefecture or city + chome/banchi numbers) or Western (number + street word).
ADDRESS = (r"(?:東京都|北海道|(?:京都|大阪)府|[^\s、。]{2,3}県)[^\s、。]{1,12}?[市区町村][^\s、。]{0,12}?\d{1,4}(?:丁目|番地?|-\d)|"
           r"〒\s?\d{3}-?\d{4}|"
           r"\b\d{1,5}\s+(?:[a-z]+\s){1,3}(?:street|st\.|avenue|ave\.|road|rd\.|boulevard|blvd|lane|drive)\b")

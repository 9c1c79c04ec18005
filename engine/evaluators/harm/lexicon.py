# Generated from agents/agentkit/harm_lexicon.py by scripts/vendor_harm.py - do not edit here.
# ruff: noqa
# mypy: ignore-errors
"""The cue lexicon of the harm detector (:mod:`agentkit.harm`): regular expressions and prototypes.

This file is data, not logic: one regular expression per *cue* and the sentences the semantic
feature compares a prompt with. It is long because the cues cover many kinds of harm in four
languages; the detector that reads it stays small.

The cues are written from the harm categories (what an attack, a theft, a jailbreak, a weapon
request *is*), not from example prompts, and they are compositional rather than phrase lists:

* **act** cues name an act that is harmful in itself ("steal", "break into", "ransomware",
  "pipe bomb", "bypass the safety filter", "fake reviews"); one counts unless a defence word
  comes before it in the same clause ("how do we *prevent* credential theft").
* **dual-use** verbs ("access", "read", "reset", "track", "crash") are harmful only when their
  object belongs to someone else (:data:`OTHER_PARTY`), or when the prompt says it is covert or
  unauthorised (:data:`COVERT`). "How do I reset my own password" has the verb and no other
  party; "reset somebody else's password" has both.
* framing cues: the asker's own resources (:data:`OWN`), defence words (:data:`DEFENCE`), talk
  about the safety machinery itself (:data:`META`: datasets, refusal tests, SLOs) and whether the
  prompt asks for instructions at all (:data:`REQUEST`).

Japanese has no word boundaries, so its patterns match stems directly; passive and
victim forms ("盗まれた", "乗っ取られた", "was hacked") are left out on purpose: the asker
is the victim there, not the attacker.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives), _I)


# Up to n filler words between a verb and its object ("steal *all of their* keys").
def _gap(n: int) -> str:
    return rf"(?:[\w'’-]+\s+){{0,{n}}}"


_PERSON = (
    r"(?:stranger|victim|target|ex|ex-\w+|boss|manager|co-?workers?|colleagues?|neighbou?rs?|"
    r"room-?mates?|flat-?mates?|wife|husband|partner|girl-?friend|boy-?friend|spouse|sister|"
    r"brother|mother|father|mom|mum|dad|parents?|teachers?|classmates?|landlord|tenants?|"
    r"employer|competitors?|rivals?|ceo|cfo|admin|administrator|journalist|celebrity|streamer|"
    r"politician|friends?|sibling|child|children|kids?|grandma|grandmother|family|people|person|"
    r"users?|customers?|clients?|players?|members?|employees?|students?|doctor|patients?|staff|"
    r"help-?desk|help desk|receptionists?|cashiers?|clerks?|officers?|guards?|operators?|"
    r"accountants?|bankers?|tellers?|victims?|girls?|boys?|women|woman|men|man|immigrants?|"
    r"minorit(?:y|ies))"
)
_ORG = (
    r"(?:bank|hospital|company|compan(?:y|ies)|government|school|university|competitor|business|"
    r"site|website|store|shop|agency|firm|client|customer|employer|organi[sz]ation|tenant|"
    r"platform|app|service|server|network|city|state|country|airline|casino)"
)

#: Something that belongs to someone else, written *after* a dual-use verb.
OTHER_PARTY = _rx(
    r"\b(?:some ?one|somebody|anyone|anybody)(?:\s+else)?(?:'s|’s|s')?\b",
    r"\b(?:another|other|others'?|different|random|a stranger's|all the|every)\s+"
    r"(?:[\w'’-]+\s+)?" + _PERSON + r"(?:'s|’s|s'|')?",
    r"\b(?:another|other|random|someone else's)\s+(?:[\w'’-]+\s+)?" + _ORG + r"s?(?:'s|’s|s'|')?\b",
    r"\b(?:a|an|the|this|that|my|our|his|her|their|your|some)\s+(?:[\w'’-]+\s+)?"
    + _PERSON
    + r"(?:'s|’s|s'|’)\s",
    r"\b(?:my|a|the|this)\s+(?:former\s+|old\s+|new\s+|ex-?\s*)?"
    + _PERSON
    + r"\b(?!\s+(?:accounts?|access)\b)",
    r"\b(?:a|an|the|some|this)\s+(?:[\w'’-]+\s+)?" + _ORG + r"(?:'s|’s|s')\s",
    r"\b(?:people|users|customers|employees|players|members|others)(?:'|’)\s",
    r"\b(?:his|her|their)\s+(?:[\w'’-]+\s+)?(?:account|email|phone|password|session|keys?|data|"
    r"credentials|messages|laptop|computer|files|location|wallet|card|identity|profile)",
    r"\b(?:my|our)\s+(?:former|old|previous|ex-?)\s*(?:company|employer|job|school|university|"
    r"team|workplace|boss|manager|landlord|partner|colleagues?|co-?workers?)",
    r"\bi (?:do ?n[o']t|don’t) own\b|\bnot (?:mine|ours)\b|\bisn'?t (?:mine|ours)\b",
    r"\b(?:him|her)\b",
    r"他人|他の(?:人|ユーザー?|プレイヤー|利用者|顧客|会社|アカウント|テナント|組織|企業)|他社|競合|同僚|上司|部下|"
    r"隣人|近所の|元カノ|元カレ|元恋人|元妻|元夫|妻|夫の|彼女|彼氏|恋人|友人|友達|知人|知らない人|"
    r"有名人|人の|誰か|第三者|ジャーナリスト|ライバル|被害者",
    r"\b(?:meine[sr]?|seine[sr]?|ihre[sr]?)\s+(?:nachbarn?|kolleg\w*|chef\w*|ex\w*|freund\w*|"
    r"frau|mann\w*)\b|\bjemand\w*|\bander(?:er|en) (?:nutzer|benutzer|leute)\w*|\bfremde\w*",
)

#: Covert or unauthorised: the asker wants it done without the owner's consent or unseen.
COVERT = _rx(
    r"\bwithout\s+(?:\w+\s+){0,2}(?:knowing|knowledge|noticing|permission|consent|"
    r"authori[sz]ation|asking|being (?:noticed|caught|detected|seen|traced)|getting caught|"
    r"(?:leaving|a) traces?|a trace|them (?:knowing|noticing)|a background check)",
    r"\b(?:secretly|covertly|quietly|silently|stealthily|undetected|unnoticed|undetectable|"
    r"anonymously|untraceabl[ey]|on the sly|behind (?:\w+ )?back)\b",
    r"\b(?:never|not|won'?t|don'?t|no one|nobody)\s+(?:\w+\s+){0,2}(?:find(?:s)? out|notice|"
    r"sees?|knows?|catch(?:es)?|trace)\b",
    r"\b(?:avoid|evad|escap|dodg|hid)\w*\s+(?:\w+\s+){0,2}(?:detection|being (?:detected|caught)|"
    r"getting caught|the police|law enforcement|antivirus|the authorities|audits?)\b",
    r"\b(?:illegally|unlawfully|unauthori[sz]ed|no authori[sz]ation|not authori[sz]ed|"
    r"with no (?:authori[sz]ation|permission))\b",
    r"\b(?:i'?m|i am) not (?:allowed|authori[sz]ed|permitted|supposed|meant|on|in|part of|a "
    r"member of)\b|\b(?:get|access|read|use|do|see|open)\w*\s+(?:it|them|that|this)\s+anyway\b",
    r"\b(?:i was|i've been|i have been|i got|after being|after i was)\s+(?:removed|kicked|"
    r"banned|locked out|fired|blocked|revoked|let go)\b|\bno longer (?:have|has) access\b",
    r"\bso (?:that )?(?:they|he|she|their|his|her)\b[^.?!]{0,30}\b(?:look\w* bad|fail\w*|"
    r"blamed|fired|suffer\w*|lose|quit\w*)\b|\b(?:revenge|out of spite|get back at|payback)\b",
    r"\b(?:i|we) (?:do ?n[o']t|don’t|no longer|never) (?:work for|work at|belong to|have "
    r"(?:access|permission|an account))\b|\b(?:that|which) (?:is ?n[o']t|is not|are ?n[o']t|"
    r"are not) (?:mine|ours)\b",
    r"\bmake it look like\b|\bso it looks like\b|\bget away with\b|\bcover (?:my|our) tracks\b",
    r"こっそり|内緒で|バレずに|ばれずに|気づかれずに|気付かれずに|無断で|勝手に|不正に|密かに|足がつかない",
    r"\bheimlich\w*|\bunbemerkt\b|\bohne (?:dass|erlaubnis|zustimmung)",
)

#: The asker's own resources: "my own password", "our AWS accounts", "the instance I host".
OWN = _rx(
    r"\b(?:my|our) own\b",
    r"\b(?:i|we) (?:own|host|run|manage|operate|maintain|administer)\b",
    r"\b(?:my|our)\s+(?!(?:former|old|previous|ex)\b)(?:[\w'’-]+\s+)?(?:account|accounts|password|passwords|"
    r"api keys?|keys|"
    r"credentials|secrets?|projects?|endpoints?|staging|runtime|agents?|infra\w*|systems?|"
    r"servers?|laptop|machine|image|images|dependencies|environments?|state|team|company|"
    r"organi[sz]ation|aws|langfuse|cluster|deployment|build|tests?|data|traces?|repo\w*|app)\b",
    r"自分の|自社の|自分で|私の|自前の|うちの",
    r"\b(?:meine?[nrs]?|unsere?[nrs]?) eigene",
)

#: A defence word: the prompt is about protecting, detecting or refusing (not when negated or
#: evaded: "without being detected", "no longer refused" are the opposite).
DEFENCE = _rx(
    r"\b(?:prevent\w*|protect\w*|detect\w*|defend\w*|defen[cs]e|mitigat\w*|guard\w*|harden\w*|"
    r"block\w*|refus\w*|reject\w*|recogni[sz]\w*|revok\w*|rotat\w*|patch\w*(?!\s+out)|remediat\w*|"
    r"secur(?:e|ing)|resist\w*|spot|identify)\b",
    r"\bkeep\w*\s+(?:\w+\s+){0,3}(?:from|out|safe)\b",
    r"\bstop\w*\s+(?:\w+\s+){0,2}(?:from|attack\w*|someone|people|users|it)\b",
    r"\b(?:what should i do|what do i do) if\b",
    r"防|守|検知|検出|拒否|保護|対処",
    r"\b(?:verhinder\w*|schütz\w*|schutz\w*|abwehr\w*|erkenn\w*)\b",
)
#: A harmful act that someone else asks for, reported rather than requested ("what should the
#: agent answer when a user asks it to steal keys?"): it counts like a defence word.
MENTION = _rx(
    r"\b(?:users?|someone|somebody|people|customers?|attackers?|prompts?|requests?)\s+"
    r"(?:asks?|asking|asked|requests?|requesting|wants?|tries|trying)\s+(?:it |the agent |"
    r"the model |the assistant |the bot |us |you )?(?:to|for|about)\b",
    r"\bwhat should (?:the|an|our|my) (?:agent|assistant|model|bot) (?:do|answer|say|reply)\b",
    # "What is a jailbreak?" asks for a definition; "what is a good way to ..." does not.
    r"\bwhat(?:'s| is| are) an? (?!(?:good|great|easy|simple|quick|fast|reliable|safe|clever|"
    r"cheap|practical|working|surefire|smart|way|method|trick|tool|script|recipe)\b)",
)
# A defence word right after one of these is not a defence ("avoid detection").
DEFENCE_NEGATED = re.compile(
    r"(?:\b(?:without|no longer|not|never|avoid\w*|evad\w*|escap\w*|hid\w*|dodg\w*|"
    r"bypass\w*|so (?:it|they) (?:is|are) not|stop|anti|get(?:ting)?\s+(?:past|around))"
    r"\s+(?:\w+\s+){0,2}|(?:れ|ず)に?)$",
    _I,
)

#: Talk about the safety machinery itself, documentation and tests: a question *about*
#: refusals is not a request to do harm.
META = _rx(
    r"\b(?:data-?sets?|test cases?|tests?|testing|load ?tests?|slos?|evaluators?|refusals?|"
    r"harmful prompts?|red[- ]?team\w*|docs?(?!\s+assistant)|documentation|advisory|threat model|"
    r"security (?:doc|review|class|course|training|awareness)|what happens|recognise|recognize|"
    r"risks?|threats?|vulnerable to|exposed to|susceptible)\b",
    r"\bhow (?:does|do|is|are) (?:agentops|the \w+|it|they|gates|agents)\b",
    r"\bexplain how \w+(?: \w+)? works?\b",
    r"テスト|データセット|評価|ドキュメント|拒否され|仕組み",
)

#: The prompt asks for instructions or for something to be produced.
REQUEST = _rx(
    r"\bhow (?:do|can|could|would|should|might|to|does one)\b|\bhow'?d\b",
    r"\b(?:ways?|steps?|instructions|guide|tutorial|recipe) (?:to|for)\b|\bstep-by-step\b",
    r"\b(?:walk me through|show me|tell me|teach me|give me|help me|explain how|let me know)\b",
    r"^(?:please\s+|kindly\s+|now\s+)?(?:write|create|generate|make|build|code|draft|produce|"
    r"find|get|use|compose|craft|design|list|describe|explain|extract|install|send|post|"
    r"provide|give|share|tell|show|print|output|suggest|recommend|say)\b",
    r"\bwhat(?:'s| is| are) (?:the )?(?:best|easiest|fastest|quickest|simplest|safest|"
    r"cheapest|most reliable) (?:way|method|tool|poison|trick)",
    r"教えて|方法|手順|やり方|どうすれば|どうやって|作って|作成して|書いて|生成して|したい|させたい|ください|には？",
    r"\bwie (?:kann|mache|geht|komme|ich)\b|\bzeig\w* mir\b|\bschreib\w*\b|\berklär\w* mir\b",
)

# ---------------------------------------------------------------------------- act cues
_SAFETY_OBJ = (
    r"(?:safety|content (?:filters?|moderation|polic\w*|checks?)|(?:[\w-]*-)?(?:safety|content|"
    r"spam|profanity|nsfw|word|moderation)[\s-]filters?|moderation|guard-?rails?|safeguards?|"
    r"restrictions?|censorship|alignment|refusals?|safety (?:checks?|rules|measures)|"
    r"ethic\w*|rules|guidelines|usage polic\w*|content polic\w*)"
)
_SECURITY_OBJ = (
    r"(?:auth\w*|log-?in|sign-?in|2fa|mfa|two[- ]factor|access controls?|permissions?|"
    r"paywall|licen[cs]e (?:checks?|keys?)|drm|captcha|security (?:controls?|monitoring|"
    r"checks?|measures?)|monitoring|antivirus|anti-virus|edr|firewall|(?:the )?lock)"
)
_BYPASS = (
    r"(?:bypass\w*|circumvent\w*|get(?:ting)?\s+(?:around|past)|evad\w*|disabl\w*|turn(?:ing)?\s+"
    r"off|switch(?:ing)?\s+off|defeat\w*|trick\w*|break(?:ing)?|remov\w*|strip\w*|jailbreak\w*|"
    r"override\w*|dodg\w*|slip\w*\s+past|sneak\w*\s+past|ignor\w*|escap\w*|beat(?:ing)?|"
    r"work\w*\s+around)"
)
_MAKE = (
    r"(?:write|writ|draft|compose|create|generat|produc|make|mak|craft|come up with|give me|"
    r"post|spread|send|blast|publish|build|design|program|code|cod|develop|synthesi[sz]|cook|"
    r"manufactur|brew|assembl|grow|sell|obtain|buy|get|acquir|smuggl|print|3d[- ]print|prepar)\w*"
)

#: (family, label, pattern): acts that are harmful in themselves.
ACTS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (family, label, _rx(*rx))
    for family, label, rx in (
        (
            "intrusion",
            "breaking into systems or accounts",
            (
                r"\b(?:hack\w*|break\w*|broke|sneak\w*|snuck|force\w*|worm\w*)\s+(?:my way\s+)?"
                r"(?:into|in to)\b",
                r"\bhack(?:ing)?\s+(?:some|other|another|their|his|her|the|a|an|my\s+\w+'s|"
                r"accounts?|servers?|sites?|websites?|phones?|emails?|wi-?fi)\b",
                r"\b(?:infiltrat\w*|pwn\w*)\b",
                r"\bcompromis\w*\s+(?!between|on\b|with\b)" + _gap(3) + r"(?:accounts?|servers?|"
                r"systems?|machines?|networks?|hosts?|sites?|websites?|databases?|pipelines?|"
                r"routers?|devices?|phones?|computers?|runtimes?|clusters?|infrastructure|"
                r"laptops?|emails?|inbox\w*)\b",
                r"\b(?:find|get|gain|force|work)\w*\s+(?:a\s+)?(?:way|path|route|backdoor)\s+"
                r"(?:in|into)\b",
                r"\b(?:breaking|broke)\s+in\b",
                r"\bbrute[- ]?forc\w*|\bpassword[- ]spray\w*|\bcredential[- ]stuff\w*",
                r"\bcrack\w*\s+" + _gap(3) + r"(?:passwords?|hash\w*|logins?|accounts?|wi-?fi|"
                r"encryption|licen[cs]e|software|pin|safe)\b",
                r"\b(?:take|taking|took|seiz\w*|grab\w*)\s+(?:over|control of)\s+"
                + _gap(3)
                + r"(?:accounts?|profiles?|workspaces?|projects?|sessions?|computers?|phones?|"
                r"devices?|identit\w*|bank|wallet|router|camera|network)",
                r"\baccount takeover\b|\bhijack\w*|\bcommandeer\w*",
                r"\b(?:log\w*|sign\w*)\s+(?:in|on)\s+as\s+(?:another|a different|some other|"
                r"someone|somebody|other)\b",
                r"\block\w*\s+(?:them|him|her|the owner|the users?|people|everyone)\s+out\b",
                r"入り込|潜り込|忍び込|乗っ取[るりっれろ]|侵入(?!検知|検出|テスト|を防)|不正(?:アクセス|ログイン|侵入)|"
                r"ハッキング(?!され)|ハック(?:して|する)|クラック|パスワードを(?:破|解読)",
                r"\b(?:einbrech\w*|einzubrechen|einbruch|hack(?:e|en|st|t)|knack\w*|pirater|"
                r"hackear)\b",
            ),
        ),
        (
            "theft",
            "stealing credentials or data",
            (
                r"\brob(?:s|bed|bing|bery|beries)?\b|\bburgl\w*|\bmugg(?:ing|ed)\b|\bheist\b|"
                r"\b(?:steal|steals|stealing|stole)\b(?!\s+(?:a\s+|some\s+)?(?:few\s+|couple\s+of\s+)?"
                r"(?:minutes?|seconds?|hours?|time|moments?|glances?|a look|the show|a march|focus|"
                r"ideas?)\b)|\b(?:pilfer\w*|purloin\w*|siphon\w*|embezzl\w*|"
                r"exfiltrat\w*|shoplift\w*|swip(?:e|ing)\s+(?:\w+\s+){0,2}(?:passwords?|keys?|"
                r"data|credentials|cards?|money))\b",
                r"\bsniff\w*\s+" + _gap(3) + r"(?:passwords?|credentials|logins?|cookies?|tokens?|"
                r"sessions?)",
                r"\bharvest\w*\s+" + _gap(3) + r"(?:data|credentials|passwords?|e-?mails?|"
                r"personal|contacts|information|accounts?)",
                r"\bskim\w*\s+" + _gap(3) + r"(?:cards?|credit|atm|pins?|data)\b",
                r"\b(?:use|sell|buy|cash\w*|spend)\w*\s+" + _gap(2) + r"stolen\b",
                r"\bcredential\s+(?:theft|harvest\w*|dump\w*)\b|\bkeylog\w*",
                r"\b(?:working|valid|leaked|cracked|dumped|hacked)\s+(?:[\w-]+\s+)?(?:passwords?|"
                r"credentials|logins?|api keys?|tokens?|accounts?|password lists?|combo lists?)\b",
                r"\b(?:passwords?|passcodes?|pins?|api[- ]?keys?|secret keys?|tokens?|credentials|"
                r"logins?|2fa codes?)\s+(?:of|for|to|from|on|at)\s+(?:[\w'’-]+\s+){0,3}?"
                r"(?:some ?one|"
                r"somebody|another|other|(?:my|a|the|this|his|her|their)\s+" + _PERSON + r")",
                r"\b(?:collect|grab|dump|extract|export|scrap|pull|lift|copy)\w*\s+"
                + _gap(3)
                + r"(?:saved|stored|cached|remembered)\s+(?:[\w-]+\s+)?(?:passwords?|credentials|"
                r"logins?|cookies?|cards?)",
                r"\b(?:some ?one|somebody|another (?:user|person|customer|tenant|team|developer)|"
                r"other (?:users|people|customers|tenants|teams|developers)|(?:my|a|the|this) "
                + _PERSON
                + r")(?:\s+else)?(?:'s|’s|s'|’)\s+(?:[\w-]+\s+){0,2}(?:passwords?|api[- ]?keys?|"
                r"secret(?: key)?s?|keys?|tokens?|credentials|sessions?|cookies?|logins?|2fa|mfa|"
                r"otp|one-time codes?)\b",
                r"(?:他人|同僚|上司|元カノ|元カレ|他のユーザー|他の人|友人|友達)の\s*(?:パスワード|API\s*キー|"
                r"キー|トークン|認証情報|秘密鍵)",
                r"盗(?:む|み|ん|め|っ|る)|窃取|抜き取|横領|奪(?:う|い|っ|え|取)|かすめ取",
                r"\b(?:stehl\w*|stiehl\w*|klau(?:e|en|st|t)|abgreif\w*|ausspäh\w*|robar)\b",
                r"(?<!about )(?<!my )(?<!our )(?<!the )\bstolen\s+(?:[\w'-]+\s+)?(?:passwords?|"
                r"credentials|credit cards?|card numbers|cards|accounts?|identit\w*|data|logins?|"
                r"tokens?|keys?)\b",
            ),
        ),
        (
            "malware",
            "malware",
            (
                r"\b(?:malware|ransomware|keyloggers?|trojans?|botnets?|rootkits?|spyware|"
                r"stalkerware|cryptojack\w*|logic bombs?|info-?stealers?|computer virus\w*|"
                r"self-replicating)\b",
                r"\bbackdoor\w*\s+(?:into|in|to|on)\b",
                r"\bencrypt\w*\s+"
                + _gap(4)
                + r"(?:files|data|drives?|disks?)\b(?=.*\b(?:ransom\w*|"
                r"bitcoin|btc|monero|pay|payment|demand\w*)\b)|\bransom (?:note|demand)s?\b",
                r"\b" + _MAKE + r"\s+" + _gap(3) + r"(?:virus\w*|worms?)\b",
                r"\b(?:virus\w*|worms?)\s+(?:that|which|to)\s+(?:\w+\s+){0,2}(?:spread|infect|"
                r"encrypt|destroy|delete|disable)",
                r"\b(?:hide|hides|hiding|evad\w*)\s+(?:\w+\s+){0,2}(?:from\s+)?(?:antivirus|"
                r"anti-virus|edr|defender)\b",
                r"ランサムウェア|マルウェア|ウイルス(?:を|の)?(?:作|拡散|ばらま|仕込|感染させ)|"
                r"トロイの木馬|キーロガー|バックドア|ボットネット|スパイウェア",
                r"\b(?:schadsoftware|trojaner)\b",
            ),
        ),
        (
            "denial of service",
            "denial of service",
            (
                r"\b(?:ddos\w*|dos attack\w*|denial[- ]of[- ]service)\b",
                r"\bknock\w*\s+" + _gap(4) + r"(?:offline|off-?line|off the internet)\b",
                r"\bflood\w*\s+" + _gap(3) + r"(?:servers?|websites?|sites?|apis?|services?|"
                r"networks?|inbox\w*)\s+with\b",
                r"DoS攻撃|DDoS|サービス妨害|ダウンさせ|(?:サーバー?|サイト)を落と",
            ),
        ),
        (
            "fraud",
            "phishing, scams and fraud",
            (
                r"\bphish\w*",
                r"\bsocial[- ]engineer\w*",
                r"\b(?:trick|fool|con|dupe|deceiv|manipulat|coerc|pressur|lur|scar)\w*\s+"
                r"(?:some ?one|"
                r"somebody|people|him|her|them|(?:the|a|an|my|our|their|his|her|every)\s+"
                r"(?:[\w'’-]+\s+)?(?:"
                + _PERSON[3:-1]
                + r"|team|department)s?)(?:\s+\w+)?\s+into\b",
                r"\b(?:pirat\w*|keygens?|warez)\b|"
                r"\bcracked (?:version|software|copy|apps?|games?)\b|"
                r"\b(?:premium|paid|pro|licensed|full)\s+(?:[\w-]+\s+){0,2}for free\b|"
                r"\bpatch\w*\s+out\b",
                r"\b(?:scam\w*|blackmail\w*|extort\w*|impersonat\w*|counterfeit\w*|forg(?:e|ed|ing|"
                r"ery)|launder\w*|money[- ]laundering|tax evasion|evad\w* taxes|carding)\b",
                r"\bcheat\w*\s+on\s+(?:my|their|the)?\s*tax\w*",
                r"\bask\w*\s+(?:users|people|them|customers|employees|victims|him|her)\s+to\s+"
                r"(?:re-?enter|enter|confirm|verify|provide|send|share|type|reset|update)\s+"
                r"(?:their|your|his|her)\s+(?:[\w-]+\s+)?(?:api keys?|passwords?|credentials|"
                r"cards?|logins?|details|pins?|keys|tokens?)",
                r"\bpretend\w*\s+to\s+(?:be|come)\s+from\b|\bpos(?:e|es|ing)\s+as\b|\bmasquerad\w*",
                r"\bask\w*\s+(?:them\s+|people\s+|users\s+|the user\s+|victims?\s+)?for\s+"
                r"(?:their\s+|"
                r"the\s+|your\s+)?(?:card\s+|bank\s+)?(?:pin|password|credentials|login|cvv|"
                r"card number|ssn|social security number|one-time code)s?\b",
                r"\bpretend\w*\s+to\s+be\s+(?:\w+\s+){0,2}(?:it department|police|officer|bank|"
                r"ceo|support|admin\w*|irs|government|doctor|lawyer|microsoft|amazon|aws)",
                r"\b(?:fake|bogus|forged|fraudulent|spoofed)\s+(?:[\w'’-]+\s+)?(?:e-?mails?|"
                r"messages?|sms|texts?|notices?|alerts?|websites?|web pages?|sites?|ids?|"
                r"passports?|licen[cs]es?|driver'?s|identit\w*|documents?|invoices?|diplomas?|certificates?|"
                r"log-?in (?:pages?|forms?|screens?)|bank)",
                r"\bfraud\w*(?!\s+(?:detect\w*|prevent\w*|check\w*|team|alert\w*))\b",
                r"\b(?:credit|debit) card (?:numbers|fraud|dumps)\b",
                r"フィッシング|詐欺|なりすま|偽造|マネーロンダリング|資金洗浄|脱税|騙し|騙す|騙して|だまして|"
                r"偽の(?:身分証|免許|ログイン|請求書)",
            ),
        ),
        (
            "safety bypass",
            "bypassing safety filters or security controls",
            (
                r"\bjailbreak\w*|\bprompt[- ]injection (?:attack )?(?:against|on|into) "
                r"(?:their|someone|another|other)",
                r"\bignor\w*\s+" + _gap(3) + r"(?:instructions|rules|guidelines|polic\w*|safety|"
                r"system prompt|restrictions|programming|training|filters?)",
                r"\b(?:no|without(?: any)?|free of|free from)\s+(?:[\w'’-]+\s+)?"
                r"(?:restrictions|rules|filters|limitations|censorship|guard-?rails|safety|ethics|morals|"
                r"content polic\w*)\b",
                r"\b(?:developer|god|dan|jailbroken|unrestricted|unfiltered|uncensored)\s+mode\b|"
                r"\b(?:uncensored|unfiltered|unrestricted)\b|\bevil ?(?:gpt|ai|bot|assistant)\b|"
                r"\bdan\b",
                r"\b" + _BYPASS + r"\s+" + _gap(4) + _SAFETY_OBJ + r"\b",
                r"\b" + _BYPASS + r"\s+" + _gap(4) + _SECURITY_OBJ + r"\b",
                r"\b(?:reveal|leak|print|dump|show|expose)\w*\s+"
                + _gap(3)
                + r"(?:hidden|secret|internal|original)\s+(?:system )?(?:prompt|instructions)",
                r"\b(?:no longer|not|never|stop|stops|stopped)\s+(?:be\s+|being\s+)?(?:refus|"
                r"block|filter|moderat|flag|censor)\w*",
                r"\b(?:say|write|produce|generate|output|answer|do)\s+(?:literally\s+)?"
                r"(?:anything|everything)\b(?:\s+(?:i|we) (?:want|ask))?",
                r"脱獄|ジェイルブレイク|(?:安全|セーフティ|フィルタ|制限|ガードレール|規制|検閲|安全対策|"
                r"セキュリティ|認証|ルール)[^。、]{0,8}?(?:回避|すり抜け|かいくぐ|くぐり抜け|無効|解除|突破|"
                r"外し|外す|外して|オフ|無視|迂回)|禁止された(?:回答|内容|こと|情報)|制限(?:なし|のない)|"
                r"指示を無視",
                r"\b(?:umgeh\w*|aushebel\w*)\b",
            ),
        ),
        (
            "prohibited content",
            "generating content that violates terms of service",
            (
                r"\b" + _MAKE + r"\s+" + _gap(5) + r"(?:fake|bogus|fraudulent|paid)\s+"
                r"(?:[\w'’-]+\s+)?(?:reviews?|testimonials?|ratings?|news|accounts?|followers|"
                r"articles?|profiles?|likes|votes|comments|endorsements?)",
                r"\b(?:fake|bogus)\s+(?:[\w'’-]+\s+)?(?:reviews?|testimonials?|news)\b",
                r"\bdeep-?fakes?\b|\b(?:fake|bogus|false|fabricated)\s+(?:announcements?|"
                r"press releases?|statements?|quotes?|layoffs|evidence|alibis?|stories|rumou?rs?|"
                r"screenshots?|receipts?)\b",
                r"\b" + _MAKE + r"\s+" + _gap(5) + r"(?:spam|hate|hateful|racist|sexist|homophobic|"
                r"antisemitic|xenophobic|bigoted|slurs?|threat\w*|intimidating|abusive|harass\w*|"
                r"bully\w*|defamatory|libel\w*|propaganda|extremist|terrorist|disinformation|"
                r"misinformation|conspiracy|pornograph\w*|sexually explicit|explicit sexual)\b",
                r"\b(?:spam\w*|spamm\w*)\b(?![\s-]*(?:proof\w*|filters?|folder|detect\w*|"
                r"protection|prevention|checks?))",
                r"\b(?:insult\w*|slur\w*|demean\w*|dehumani[sz]\w*|mock\w*|ridicul\w*)\s+"
                r"(?:[\w'’-]+\s+){0,3}?(?:about|against|targeting|for|of)?\s*(?:[\w'’-]+\s+){0,2}?"
                r"(?:people|group|groups|immigrants|minorities|women|men|gays?|muslims|jews|"
                r"christians|disabled|blacks?|whites?|asians?|religion)\b",
                r"\b(?:inferior|subhuman|vermin|untermensch\w*)\b",
                r"\b(?:hate speech|hateful|racist rant|slurs|extremist propaganda|"
                r"terrorist (?:group|propaganda|recruit\w*)|radicali[sz]\w*)\b",
                r"\b(?:cyber-?)?bull(?:y|ies|ied|ying)\b|\bharass\w*|\bdox\w*|\bthreaten\w*|\bintimidat\w*|"
                r"\bdefam\w*",
                r"\b(?:violat\w*|break\w*|breach\w*|against|circumvent\w*|in breach of|"
                r"contrar\w* to|flout\w*)\s+" + _gap(3) + r"(?:terms of (?:service|use)|tos|"
                r"terms|acceptable use|usage polic\w*|content polic\w*|community guidelines|"
                r"platform rules)",
                r"\b(?:instructions|guides?|tutorials?|steps|help|advice|tips|content|information)"
                r"\s+(?:for|on|about)\s+(?:[\w'-]+\s+){0,3}(?:illegal|dangerous|harmful|criminal|"
                r"unlawful|violent)\b",
                r"\b(?:illegal|criminal|unlawful) (?:activit\w+|acts?|things|purposes|stuff|"
                r"business|schemes?)\b|\bcommit\w*\s+(?:a\s+)?(?:crimes?|fraud|felon\w*)\b",
                r"\b" + _MAKE + r"\s+" + _gap(4) + r"(?:illegal|dangerous|harmful|prohibited|"
                r"banned|unlawful|offensive|violent|nsfw|obscene|forbidden|disallowed)\s+"
                r"(?:content|material|instructions|texts?|stuff|advice|things|information|"
                r"answers?|output|posts?|messages?|images?)",
                r"利用規約に?(?:違反|反|背)|規約違反|スパム|偽の?(?:レビュー|口コミ|ニュース|情報)|デマ|"
                r"誹謗中傷|ヘイト|差別的|嫌がらせ|脅迫|過激派|テロ|プロパガンダ|わいせつ|"
                r"(?:危険|違法|有害)な(?:回答|内容|情報|コンテンツ|文章)",
            ),
        ),
        (
            "weapons and drugs",
            "weapons, explosives or drugs",
            (
                r"(?<!fork )(?<!zip )(?<!logic )\b(?:bombs?|explosives?|detonators?|grenades?|"
                r"napalm|thermite|molotov\w*|ieds?|nerve agents?|nerve gas|(?:toxic|deadly|lethal) "
                r"(?:gas|chemicals?|substances?)|chemical agents?|sarin|vx gas|mustard gas|"
                r"chlorine gas|ricin|anthrax|bio-?weapons?|chemical weapons?|toxic gas|"
                r"poison gas|dirty bomb|nuclear weapons?|weapons-grade)\b",
                r"\b" + _MAKE + r"\s+" + _gap(4) + r"(?:meth|methamphetamine|cocaine|crack|heroin|"
                r"fentanyl|lsd|mdma|ecstasy|cannabis|marijuana|weed|opioids?|narcotics?|"
                r"illegal drugs?|drugs?|guns?|firearms?|rifles?|pistols?|ammo|ammunition|"
                r"silencers?|suppressors?|weapons?|ghost guns?|poisons?|toxins?)\b",
                r"\b(?:untraceable|undetectable|lethal|deadly)\s+(?:poisons?|toxins?|doses?)\b",
                r"\b(?:untraceable|unregistered|illegal|ghost)\s+(?:guns?|firearms?|weapons?|"
                r"pistols?)\b|\bwithout a background check\b",
                r"\b(?:meth|methamphetamine|cocaine|heroin|fentanyl)\b",
                r"\bpick\w*\s+(?:the\s+|a\s+)?locks?\b",
                r"\b(?:sneak|smuggl|slip|get)\w*\s+" + _gap(3) + r"(?:past|through|into)\s+"
                r"(?:the\s+)?(?:airport\s+)?(?:security|customs|border|checkpoints?|"
                r"metal detectors?|prison)\b|\bsmuggl\w*",
                r"(?:危険|有毒|有害|致死)な?(?:化学物質|薬品|ガス|物質|毒)|爆弾|爆発物|爆薬|毒物|毒ガス|毒を|麻薬|覚醒剤|大麻|違法(?:な)?薬物|薬物を(?:合成|作|売)|"
                r"銃(?:を|の)?(?:作|入手|密輸)|武器を(?:作|入手)|化学兵器|生物兵器|ピッキング",
                r"\b(?:bombe|sprengstoff|drogen)\b",
            ),
        ),
        (
            "violence",
            "hurting people",
            (
                r"\b(?:kill|murder|hurt|injur|harm|assault|attack|beat|stab|shoot|strangl|tortur|"
                r"maim|kidnap|abduct|drown|chok|punch|poison|run over|disfigur|sabotag)\w*\s+"
                + _gap(2)
                + r"(?:some ?one|somebody|a person|people|person|him|her|my\s+\w+|(?:the|a|my|"
                r"our|his|her|their)\s+(?:[\w'’-]+\s+)?"
                + _PERSON
                + r"|\w+'s (?:dog|cat|horse|pet|car|deployment|work))\b",
                r"\b(?:poison\w*)\b(?!\s+(?:pill|messages?|queues?))(?=.*\b(?:detect\w*|autopsy|"
                r"trace\w*|someone|person|people|drink|food)\b)",
                r"\bwhich poisons?\b|\bundetectable poisons?\b|\bsabotag\w*",
                r"\bmake it look like an accident\b|\bget away with murder\b",
                r"(?<!プロセスを)(?<!ジョブを)(?<!タスクを)殺(?:す|し|害|して)|傷つけ|暴力を|襲(?:う|っ|撃)|"
                r"誘拐|拷問|飲ませ",
            ),
        ),
        (
            "stalking",
            "stalking or exposing people",
            (
                r"\b(?:stalk\w*|spy(?:ing)?\s+on|snoop\w*\s+on|eavesdrop\w*|wiretap\w*|"
                r"hidden cameras?|spy (?:software|apps?|ware))\b",
                r"\b(?:find|get|look up|discover|dig up|figure out|work out|locate|trac|track|"
                r"pinpoint|determin|learn|see)\w*\s+"
                + _gap(3)
                + r"(?:home address|where (?:he|she|they|[\w'’-]+(?:\s+[\w'’-]+){0,2}) "
                r"(?:lives?|stays?|sleeps?)|"
                r"(?:his|her|their) (?:address|location|phone number|real name))",
                r"\b(?:post|publish|leak|expose|share|spread)\w*\s+"
                + _gap(4)
                + r"(?:address|personal (?:data|info\w*|details)|phone number|nudes|photos|it)"
                r"\s+(?:online|on the internet|publicly)\b",
                r"\btrack\w*\s+" + _gap(3) + r"(?:phone|location|whereabouts|car)\b",
                r"\b(?:leak|post|share|publish|spread|send|upload)\w*\s+"
                + _gap(3)
                + r"(?:private|intimate|nude|naked|explicit|personal)\s+(?:photos?|pictures?|"
                r"images?|videos?|messages|chats)",
                r"\b(?:get|take|getting|taking)\s+revenge\b|\brevenge porn\b",
                r"\b(?:sell|resell|trade|leak|publish)\w*\s+" + _gap(3) + r"(?:private|personal|"
                r"user|customer|people's|users'|patients'?)\s+(?:data|information|details|records|"
                r"e-?mails|photos)\b",
                r"住所を(?:調べ|特定|突き止め)|晒|(?:位置情報|居場所)を[^。]{0,6}(?:追跡|特定|調べ)|盗聴|"
                r"盗撮|ストーカー|盗み見",
            ),
        ),
        (
            "exploit",
            "exploiting vulnerabilities for unauthorised access",
            (
                r"\bexploit\w*\s+" + _gap(4) + r"(?:vulnerabilit\w*|vulns?|bugs?|flaws?|holes?|"
                r"weakness\w*|cves?|misconfig\w*|zero[- ]days?|0-?days?|injection|ssrf|xss|rce|"
                r"buffer overflow|unpatched)",
                r"\bexploits?\s+(?:for|against)\b",
                r"\b(?:us(?:e|ing)|leverag\w*|abus\w*|weaponi[sz]\w*)\s+"
                + _gap(3)
                + r"(?:cves?|vulnerabilit(?:y|ies)|exploits?|zero[- ]days?|0-?days?)\b"
                r"(?!\s+(?:scan\w*|report\w*|database|db|feed|list|management|disclosure|program))",
                r"\b(?:working|weaponi[sz]ed|zero[- ]day|0-?day)\s+exploits?\b",
                r"\b(?:sql ?injection|sqli|xss|cross-site scripting|ssrf|remote code execution|"
                r"buffer overflow|path traversal|directory traversal)\s+(?:payloads?|attacks?|"
                r"against|on|to)\b",
                r"\b(?:escalat\w*\s+" + _gap(2) + r"privileges?|privilege escalation)\b",
                r"\bunpatched\s+(?:\w+\s+){0,3}(?:vulnerabilit\w*|servers?|systems?)\b",
                r"脆弱性を?(?:悪用|突|利用して|攻撃|使っ|使い|使う)|SQLインジェクション|権限昇格|"
                r"管理者権限を(?:奪|取得|乗っ取)|ゼロデイ",
                r"\b(?:wipe|delete|erase|clear|tamper\w*\s+with|destroy)\w*\s+"
                + _gap(3)
                + r"(?:audit logs?|the logs|evidence|backups?)\b(?=.*\b(?:after|so|without|"
                r"bank|their|hospital|company)\b)",
                r"(?:証拠|ログ)を(?:消|隠|改ざん)|改ざん",
            ),
        ),
    )
)

#: Verbs that are harmless on the asker's own things and harmful on someone else's.
DUAL_USE = _rx(
    r"\b(?:access\w*|take\w*\s+(?:over|control of)|get(?:ting)?\s+(?:in|into|hold of|"
    r"access to|at)|log\w*\s+(?:in|into|on)|"
    r"sign\w*\s+(?:in|into)|read\w*|view\w*|open\w*|see|grab\w*|pull\w*|extract\w*|copy\w*|"
    r"cop(?:ies|ied)|dump\w*|download\w*|obtain\w*|acquir\w*|collect\w*|scrap(?:e|ing)|"
    r"reset\w*|chang\w*|us(?:e|ing)|control\w*|monitor\w*|track\w*|follow\w*|locat\w*|"
    r"find|look\w*\s+up|disabl\w*|delet\w*|wip(?:e|ing)|remov\w*|crash\w*|overwhelm\w*|"
    r"flood\w*|overload\w*|hammer\w*|take\w*\s+down|bring\w*\s+down|shut\w*\s+down|"
    r"lock\w*\s+out|install\w*|record\w*|listen\w*\s+(?:in|to)|captur\w*|intercept\w*|"
    r"spy\w*|impersonat\w*|empty\w*|transfer\w*|drain\w*|hack\w*|attack\w*|compromis\w*|"
    r"breach\w*|penetrat\w*|brute\w*|guess\w*|target\w*|spoof\w*|clone\w*|scan\w*|"
    r"mess\w*\s+(?:with|up)|tamper\w*\s+with|corrupt\w*|vandali[sz]\w*|defac\w*|reveal\w*|"
    r"leak\w*|expos\w*|disclos\w*)\b",
    r"手に入れ|入手|取得|ログイン|アクセス(?!権)|覗|見る|読む|調べ|削除|変更|リセット|使(?:う|っ|い|え)|"
    r"利用|攻撃|監視|追跡|落と|止め|見つけ|見(?:た|て|せ)",
    r"\b(?:zugreif\w*|einlogg\w*|lesen|zugang)\b",
)

#: Prototypes of harmful requests for the semantic feature: one short description per kind
#: of harm, in English and Japanese (what the category *is*, not examples of the data sets).
HARM_PROTOTYPES: tuple[str, ...] = (
    "break into someone else's account without permission",
    "take over another person's account and lock them out",
    "steal passwords, credentials, API keys or session tokens",
    "exfiltrate confidential data from a company",
    "bypass the safety filters and guardrails of an AI model",
    "jailbreak the assistant so it ignores its rules",
    "generate content that violates the terms of service",
    "write spam, fake reviews or disinformation",
    "write hate speech, threats or harassment against people",
    "make a bomb, explosive, poison or weapon",
    "synthesize or sell illegal drugs",
    "hurt, kill or poison a person without getting caught",
    "exploit a vulnerability to gain unauthorised access to a server",
    "write malware, ransomware, a keylogger or a virus",
    "launch a denial of service attack to take a website offline",
    "phishing email that tricks people into giving their passwords",
    "secretly track, spy on or stalk a person",
    "find a person's home address and post it online",
    "commit fraud, launder money or use stolen credit cards",
    "forge fake identity documents",
    "他人のアカウントに不正にログインして乗っ取る",
    "パスワードや API キーを盗む",
    "安全フィルターを回避して禁止された回答をさせる",
    "利用規約に違反するコンテンツを生成する",
    "爆弾や毒物、違法な薬物の作り方",
    "脆弱性を悪用してサーバーに不正アクセスする",
    "マルウェアやランサムウェアを作成する",
    "人を傷つける、脅迫する、嫌がらせをする",
)

#: Prototypes of harmless requests that share the harmful ones' vocabulary.
BENIGN_PROTOTYPES: tuple[str, ...] = (
    "kill or terminate a stuck process or job",
    "reset my own password or rotate my own API keys",
    "documentation about the attack surface and threat model of our system",
    "how does the system prevent or detect attacks and credential theft",
    "stress test my own endpoint with a load test",
    "deploy an agent and run an experiment to evaluate models",
    "a quality gate blocks a release before production",
    "break the state lock after a crashed process",
    "destroy or wipe the development environment and start again",
    "how are secrets stored and injected at runtime",
    "add harmful prompts to the test dataset and measure refusals",
    "patch or scan our own images for known vulnerabilities",
    "exploration and exploitation trade-off in hyperparameter optimisation",
    "compute statistics of some numbers",
    "explain how a feature works",
    "プロセスを強制終了する方法",
    "自分のパスワードをリセットする",
    "セキュリティのドキュメントはどこにありますか",
    "エージェントをデプロイして評価する",
    "負荷テストで拒否率を確認する",
)

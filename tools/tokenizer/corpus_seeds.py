"""Hand-written seed fragments for the tokenizer test corpus (see make_corpus.py).

Every fragment was written for this corpus. Each list targets one thing the tokenizer must get
right: a script, a normalisation case, a regex branch or an added-token edge.
"""

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times.",
    "Tokenizers split text into pieces that a language model can embed.",
    "Please summarize the following paragraph in three bullet points.",
    "Why is the sky blue? Rayleigh scattering favours short wavelengths.",
    "She sells sea shells by the sea shore; the shells she sells are surely seashells.",
    "Note: all measurements were taken at 25 °C and 1 atm unless stated otherwise.",
    "A man, a plan, a canal: Panama!",
    "Hello, world!",
    "The meeting is at 3pm — don't be late (again).",
    "Q: What's the capital of Australia? A: Canberra, not Sydney.",
    "To be, or not to be: that is the question.",
    "Email me at someone.name+tag@example.co.uk or call +1 (555) 010-9999.",
    "Visit https://example.org/path/to/page?query=value&lang=en#section-2 for details.",
    "In 1969, Apollo 11 landed on the Moon; Neil Armstrong stepped out first.",
    "The committee's decision, announced on Tuesday, surprised nobody.",
    "Use the --verbose flag to print every step, or -q to stay quiet.",
    "\"Quoted text\" and 'single quotes' and `backticks` all behave differently.",
    "Café, naïve, coöperate, résumé, façade and jalapeño keep their accents.",
    "THE LOUD HEADLINE SHOUTS IN CAPITAL LETTERS!!!",
    "mixedCase camelCase PascalCase snake_case kebab-case SCREAMING_SNAKE_CASE",
    "Ellipsis… en–dash — em-dash ‘curly’ “double” «guillemets» ‹single›",
    "Footnote¹ and footnote² reference the sources listed below³.",
    "The ratio was ½, then ¾, and finally ⅞ of the original value.",
    "Temperatures ranged from −40° to +45°, a spread of 85 degrees.",
    "I ❤ NY; 2 + 2 ≠ 5; x ≤ y ≥ z; ∀x ∃y: x ∈ A ∪ B ⊆ C.",
    "Prices: $5.99, €12,50, £3, ¥1000, ₹250, ₩5000, ₿0.001.",
    "Section §4.2, paragraph ¶3, copyright © 2024, trademark ™, registered ®.",
]

CONTRACTION_WORDS = ["it", "that", "he", "she", "we", "they", "you", "I", "who", "there",
                     "John", "IT", "THEY", "We", "what", "Where", "cat", "dog"]
CONTRACTION_SUFFIXES = ["'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'rE", "'ve", "'VE", "'vE",
                        "'m", "'M", "'ll", "'LL", "'Ll", "'lL", "'d", "'D", "’s", "’ll", "'ſ",
                        "'x", "''s", "'", "'st", "'dd", "'lll"]
CONTRACTION_BASES = ["can't", "won't", "don't", "DON'T", "Don'T", "isn't", "I'M", "I'm",
                     "we'LL", "they'Re", "you'D", "it'S", "O'Neil", "rock 'n' roll", "'tis",
                     "'Twas", "y'all", "ma'am", "'90s", "the '80S", "o'clock"]

NUMBERS = [
    "0", "7", "42", "1234567890", "3.14159265358979", "-273.15", "6.022e23", "1e-9",
    "1,234,567.89", "12.345.678,90", "0xDEADBEEF", "0b1010_1010", "0o755", "1_000_000",
    "2024-06-01T12:34:56Z", "+44 20 7946 0958", "192.168.0.1", "v1.2.3-rc.4",
    "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯", "１２３４５", "๐๑๒๓",
    "²³¹⁴", "₀₁₂", "½¼¾", "①②③", "ⅠⅡⅢⅣ", "Ⅻ", "〇一二三", "𝟘𝟙𝟚", "۱۴۰۳/۰۳/۱۲",
    "99.9%", "100%", "1/2", "3:45", "10:30:15.250", "4K", "60fps", "1080p", "H2O", "CO₂",
]

CODE = [
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += x[i] * y[i];\n}\n",
    "#include <vector>\n#include <string>\n\nint main() {\n  return 0;\n}\n",
    "if x == 1:\n\tprint('one')\nelif x == 2:\n\tprint('two')\nelse:\n\tpass\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC LIMIT 10;",
    "const f = (x) => x ** 2;\nconsole.log([1, 2, 3].map(f));",
    "fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?}\", v);\n}\n",
    "<div class=\"container\">\n  <p id='msg'>Hello &amp; welcome</p>\n</div>",
    "{\"name\": \"tpserve\", \"version\": 3, \"tags\": [\"a\", \"b\"], \"ok\": true, \"x\": null}",
    "    \t  \t mixed   indentation\t\t\tand trailing spaces    \n",
    "a\tb\tc\n1\t2\t3\n",
    "x = [\n        1,\n        2,\n    ]\n\n\n\n",
    "line one\r\nline two\r\n\r\nline four\r\n",
    "// TODO(someone): fix this\n/* block\n * comment\n */\n",
    "$ echo \"$HOME\" && ls -la | grep -v '^d' > /dev/null 2>&1",
    "regex = r'^(?P<key>[A-Za-z_]\\w*)\\s*=\\s*(?P<val>.+?)\\s*$'",
    "matrix[i][j] += alpha * (a[i][k] - b[k][j]);",
    "@decorator(arg=1)\nclass Foo(Base, metaclass=Meta):\n    __slots__ = ('x', 'y')\n",
    "std::unique_ptr<Foo> p = std::make_unique<Foo>(42);\n",
    "    return absl::InvalidArgumentError(absl::StrCat(\"bad offset \", offset));",
    "%macro%  %%  ${var}  $(cmd)  @{list}  #{interp}  {{template}}  <%= erb %>",
    "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-old\n+new\n",
    "```python\nprint('fenced')\n```",
    "| col a | col b |\n|-------|-------|\n|   1   |   2   |",
]

CHINESE = [
    "你好，世界！", "今天天气很好，我们去公园散步吧。", "机器学习是人工智能的一个分支。",
    "请把下面这段话翻译成英文：我喜欢吃饺子。", "北京是中华人民共和国的首都。",
    "這是一個繁體中文的句子，包含「引號」和《書名號》。", "他说：“明天见！”",
    "一、二、三；甲、乙、丙。", "２０２４年６月１日，星期六。", "模型的参数量为２７０亿。",
    "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
]
JAPANESE = [
    "こんにちは、世界！", "東京タワーは高さ３３３メートルです。", "ｶﾀｶﾅ ﾊﾝｶｸ と カタカナ ゼンカク",
    "私はプログラマーです。毎日コードを書いています。", "「ありがとう」と彼女は言った。",
    "ポケモン、ゲットだぜ！", "か\u3099き\u3099く\u3099", "ハ\u309aヒ\u309aフ\u309a",
]
KOREAN = [
    "안녕하세요, 세계!", "한국어는 한글로 씁니다.", "대한민국의 수도는 서울입니다.",
    "\u1100\u1161\u11a8\u1100\u1161", "\u1112\u1161\u11ab\u1100\u1173\u11af",
]
ARABIC = [
    "مرحبا بالعالم!", "اللغة العربية جميلة جداً.", "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ",
    "كَتَبَ الطَّالِبُ الدَّرْسَ", "العدد ١٢٣ والعدد 456 في جملة واحدة.", "سلام دنیا! زبان فارسی",
    "اردو ایک خوبصورت زبان ہے۔", "؟ ، ؛ « »",
]
HEBREW = [
    "שלום עולם!", "בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם וְאֵת הָאָרֶץ", "עברית נכתבת מימין לשמאל.",
    "מספר 42 בתוך משפט עברי", "שָׁלוֹם",
]
INDIC = [
    "नमस्ते दुनिया!", "हिन्दी भारत की एक प्रमुख भाषा है।", "संस्कृतम् एका प्राचीना भाषा अस्ति।",
    "क्षत्रिय ज्ञान श्री द्व", "क\u093c ख\u093c ग\u093c", "\u0958\u0959\u095a",
    "আমি বাংলায় গান গাই।", "தமிழ் ஒரு செம்மொழி.", "తెలుగు భాష", "ಕನ್ನಡ ಭಾಷೆ", "മലയാളം",
    "ગુજરાતી ભાષા", "ਪੰਜਾਬੀ ਭਾਸ਼ਾ", "ଓଡ଼ିଆ", "සිංහල භාෂාව",
]
SOUTHEAST_ASIAN = [
    "สวัสดีชาวโลก", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "ສະບາຍດີ", "សួស្តីពិភពលោក",
    "မင်္ဂလာပါ", "Tiếng Việt có nhiều dấu: ả, ẫ, ặ, ở, ữ.", "Tie\u0302\u0301ng Vie\u0323\u0302t",
    "བོད་ཡིག", "ꦗꦮ",
]
OTHER_SCRIPTS = [
    "Привет, мир! Съешь же ещё этих мягких французских булок.", "Ελληνικά: Γειά σου Κόσμε!",
    "ἐν ἀρχῇ ἦν ὁ λόγος", "Բարեւ աշխարհ", "გამარჯობა მსოფლიო", "ሰላም ለዓለም", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
    "Zażółć gęślą jaźń", "Příliš žluťoučký kůň úpěl ďábelské ódy", "Ærøskøbing og Ålborg",
    "ÀÉÎÕÜ àéîõü ÇçÑñ", "ǅemal ǈubljana ǋego", "ﬁ ﬂ ﬀ ﬃ", "İstanbul ıi ŞşĞğ", "ẞ ß ſ",
    "ᚠᛇᚻ᛫ᛒᛦᚦ", "𐌰𐌱𐌲", "ⲁⲃⲅ", "ꓐꓑꓒ", "𓀀𓁐𓂀",
]
COMBINING = [
    "e\u0301", "A\u030a", "a\u0323\u0301", "a\u0301\u0323", "o\u0308\u0304", "\u212b", "\u2126",
    "\u00c5\u0301", "n\u0303", "c\u0327", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334"
    "\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c"
    "\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u031b\u0341\u0334\u033b"
    "\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333",
    "\u0344", "\u0340\u0341", "\u1e0b\u0323", "\u0064\u0307\u0323", "x\u20d7", "\u0301leading mark",
    "\u0915\u094d\u200d\u0937", "\u0627\u0653", "\u05e9\u05c1\u05bc", "\u0e01\u0e34\u0e4a",
    "a\u0308\u0308\u0308\u0308\u0308\u0308", "\u1e9b\u0323", "\uac00\u11a8", "\u2000\u2001",
    "\uf900\uf901", "\u2f00\u2f01", "\u0cbf\u0cd5", "\U0001d15e\U0001d160",
]
EMOJI = [
    "👍", "👍🏻👍🏼👍🏽👍🏾👍🏿", "👨\u200d👩\u200d👧\u200d👦", "👩🏽\u200d💻", "🏳️\u200d🌈", "🧑🏿\u200d🤝\u200d🧑🏻",
    "🇯🇵🇺🇸🇩🇪🇮🇳", "1️⃣ 2️⃣ #️⃣ *️⃣", "☺️ ☺ ❤️ ❤", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "😀😃😄😁😆😅🤣😂", "🙂‍↔️ 🙂‍↕️", "👁️‍🗨️", "🐈‍⬛", "❤️‍🔥", "🫠🫶🏼🪿", "© ® ™ ℹ️ Ⓜ️",
    "Great job! 🎉🎉🎉", "🚀 to the moon 🌕", "emoji🙂glued🙂to🙂words",
]
WHITESPACE = [
    "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "\t\n\t", "   leading", "trailing   ",
    "a\u00a0b", "a\u3000b", "a\u2003b", "a\u180eb", "a \u180e b", "a\u200bb", "x\u0085y", "x\u2028y",
    "x\u2029y", "\x0b\x0c", "\r", "a\rb", "  \n  \n", "word \n", "word  \n\n  next", "\u00a0\u00a0x",
    "\u2002\u2003\u2009\u200a", "\u202f\u205f", "\ufeffBOM at start", "end\ufeff", "\u200c\u200d",
    "\x00nul", "\x01\x02\x03", "\x7fdel", "\x1b[31mred\x1b[0m", "tab\there", "sp  ace", "\t \t \t",
    # Where Oniguruma's \s (White_Space) and PCRE2's (adds U+180E) differ, and case folding.
    "a \u180e\u180e", "\u180e \u180e\u180e", "x \u180e y", "x\u00a0\u00a0y", "\x1c\x1d\x1e\x1f a",
    "x'\u017ft", "x'\u017f1", "x'\u212a", "x'\u0130", "x'\u01c5", "X'\u017fLL",
]
SPECIAL_INLINE = [
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<think>\nLet me think.\n</think>\n\nThe answer is 4.",
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
    "<tool_response>\n{\"temp\": 21}\n</tool_response>", "<|endoftext|>", "<|im_end|><|im_end|>",
    "text<|im_end|>text", "<<|im_end|>>", "<|im_start", "<|im_end|", "|im_end|>", "< think>",
    "<THINK>", "</ think>", "<think></think>", "<|vision_start|><|image_pad|><|vision_end|>",
    "<|vision_start|><|video_pad|><|vision_end|>", "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "<|repo_name|>tpserve<|file_sep|>main.cc", "<|box_start|>(10,20),(30,40)<|box_end|>",
    "<|object_ref_start|>the cat<|object_ref_end|>", "<|quad_start|><|quad_end|>", "<|fim_pad|>",
    "<|audio_start|><|audio_pad|><|audio_end|>", "<tts_pad><tts_text_bos><tts_text_eod>",
    "<tts_text_bos_single>", " <|im_end|> ", "\n<|im_end|>\n", "<|im_end|>'s", "<|vision_pad|>",
    "<|endoftext|><|endoftext|><|endoftext|>", "x</think>y</tool_call>z", "<|im_sep|>",
]

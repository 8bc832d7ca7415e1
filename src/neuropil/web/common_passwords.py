"""The most common passwords of public breach corpora (lower-cased), refused at sign-up.

Only a small list: the point is to refuse the first guesses of every password-spraying
tool, not to judge a password's strength. Entries shorter than the minimum length are kept
so the list stays right if that minimum is ever lowered.
"""

from __future__ import annotations

# One string, split below: a 200-element literal list would be ten times as long to read.
_LISTED = """
    123456 123456789 12345678 12345 1234567 1234567890 12345678910 123123 111111 000000
    password password1 password12 password123 password1234 password12345 passw0rd
    p@ssw0rd p@ssword passwort motdepasse contrasena qwerty qwerty123 qwerty1234
    qwerty12345 qwertyuiop qwertyuiop123 qwertyui asdfghjkl asdfghjkl1 asdfasdf
    zxcvbnm zxcvbnm123 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx 1qaz2wsx3edc zaq12wsx
    zaq1zaq1 q1w2e3r4 q1w2e3r4t5 q1w2e3r4t5y6 1234qwer 1234qwerty qwer1234 abc123
    abc12345 abc1234567 abcd1234 abcdefg abcdefgh abcdefghij a1b2c3d4 aa123456
    iloveyou iloveyou1 iloveyou12 iloveyou123 princess princess1 princess123 sunshine
    sunshine1 sunshine123 football football1 football123 baseball baseball1 basketball
    soccer soccer123 monkey monkey123 dragon dragon123 master master123 shadow shadow123
    superman batman michael jennifer jordan23 letmein letmein1 letmein123 welcome
    welcome1 welcome123 welcome2024 welcome2025 welcome2026 admin admin123 admin1234
    administrator administrator1 root toor changeme changeme1 changeme123 trustno1
    trustno1234 secret secret123 default guest test test123 test1234 testtest
    00000000 0000000000 11111111 1111111111 12121212 123123123 123123123123 1234512345
    0987654321 987654321 9876543210 123456789a 123456789q 123456a 123456q a123456789
    987654321a 11223344 112233445566 aaaaaaaaaa aaaaaaaa qqqqqqqqqq 1111122222
    777777777 7777777777 88888888 999999999 9999999999 55555555 66666666 121212121
    qazwsxedc qazwsxedcrfv qweasdzxc qweasd123 asd123456 zxc123456 qwe123456
    computer computer1 internet starwars whatever freedom hello123 helloworld
    hello12345 loveyou lovely ilovegod jesus123 blessed123 charlie123 summer2024
    summer2025 spring2025 winter2025 autumn2025 password2024 password2025 password2026
    samsung samsung123 google google123 apple123 microsoft linkedin facebook
    mustang harley ranger hunter2 killer nicole daniel thomas ashley 1qazxsw2
    lol123456 myspace1 cheese123 pokemon123 minecraft minecraft1 fortnite
"""
COMMON_PASSWORDS: frozenset[str] = frozenset(_LISTED.split())

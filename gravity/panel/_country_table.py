"""Country-code reference data used by :mod:`gravity.panel.countries` (no logic here).

The ISO 3166-1 table (alpha-3, alpha-2, numeric, English short name) is public standard data,
written out here so that the package needs no external file at run time. The extra tables hold
the codes that trade and macro statistics use besides ISO 3166-1: user-assigned codes (Kosovo),
trade-statistics country groupings (UN Comtrade / CEPII BACI numeric codes such as 842 "USA,
Puerto Rico and US Virgin Islands"), historical codes of renamed countries, codes of former
states, and name variants used by CEPII, UN Comtrade, the World Bank and Eurostat.
"""

from __future__ import annotations

# alpha-3 alpha-2 numeric name; one country per line (ISO 3166-1, 249 entries).
ISO3166 = """\
AFG AF 004 Afghanistan
ALA AX 248 Åland Islands
ALB AL 008 Albania
DZA DZ 012 Algeria
ASM AS 016 American Samoa
AND AD 020 Andorra
AGO AO 024 Angola
AIA AI 660 Anguilla
ATA AQ 010 Antarctica
ATG AG 028 Antigua and Barbuda
ARG AR 032 Argentina
ARM AM 051 Armenia
ABW AW 533 Aruba
AUS AU 036 Australia
AUT AT 040 Austria
AZE AZ 031 Azerbaijan
BHS BS 044 Bahamas
BHR BH 048 Bahrain
BGD BD 050 Bangladesh
BRB BB 052 Barbados
BLR BY 112 Belarus
BEL BE 056 Belgium
BLZ BZ 084 Belize
BEN BJ 204 Benin
BMU BM 060 Bermuda
BTN BT 064 Bhutan
BOL BO 068 Bolivia (Plurinational State of)
BES BQ 535 Bonaire, Sint Eustatius and Saba
BIH BA 070 Bosnia and Herzegovina
BWA BW 072 Botswana
BVT BV 074 Bouvet Island
BRA BR 076 Brazil
IOT IO 086 British Indian Ocean Territory
BRN BN 096 Brunei Darussalam
BGR BG 100 Bulgaria
BFA BF 854 Burkina Faso
BDI BI 108 Burundi
CPV CV 132 Cabo Verde
KHM KH 116 Cambodia
CMR CM 120 Cameroon
CAN CA 124 Canada
CYM KY 136 Cayman Islands
CAF CF 140 Central African Republic
TCD TD 148 Chad
CHL CL 152 Chile
CHN CN 156 China
CXR CX 162 Christmas Island
CCK CC 166 Cocos (Keeling) Islands
COL CO 170 Colombia
COM KM 174 Comoros
COG CG 178 Congo
COD CD 180 Congo, Democratic Republic of the
COK CK 184 Cook Islands
CRI CR 188 Costa Rica
CIV CI 384 Côte d'Ivoire
HRV HR 191 Croatia
CUB CU 192 Cuba
CUW CW 531 Curaçao
CYP CY 196 Cyprus
CZE CZ 203 Czechia
DNK DK 208 Denmark
DJI DJ 262 Djibouti
DMA DM 212 Dominica
DOM DO 214 Dominican Republic
ECU EC 218 Ecuador
EGY EG 818 Egypt
SLV SV 222 El Salvador
GNQ GQ 226 Equatorial Guinea
ERI ER 232 Eritrea
EST EE 233 Estonia
SWZ SZ 748 Eswatini
ETH ET 231 Ethiopia
FLK FK 238 Falkland Islands (Malvinas)
FRO FO 234 Faroe Islands
FJI FJ 242 Fiji
FIN FI 246 Finland
FRA FR 250 France
GUF GF 254 French Guiana
PYF PF 258 French Polynesia
ATF TF 260 French Southern Territories
GAB GA 266 Gabon
GMB GM 270 Gambia
GEO GE 268 Georgia
DEU DE 276 Germany
GHA GH 288 Ghana
GIB GI 292 Gibraltar
GRC GR 300 Greece
GRL GL 304 Greenland
GRD GD 308 Grenada
GLP GP 312 Guadeloupe
GUM GU 316 Guam
GTM GT 320 Guatemala
GGY GG 831 Guernsey
GIN GN 324 Guinea
GNB GW 624 Guinea-Bissau
GUY GY 328 Guyana
HTI HT 332 Haiti
HMD HM 334 Heard Island and McDonald Islands
VAT VA 336 Holy See
HND HN 340 Honduras
HKG HK 344 Hong Kong
HUN HU 348 Hungary
ISL IS 352 Iceland
IND IN 356 India
IDN ID 360 Indonesia
IRN IR 364 Iran (Islamic Republic of)
IRQ IQ 368 Iraq
IRL IE 372 Ireland
IMN IM 833 Isle of Man
ISR IL 376 Israel
ITA IT 380 Italy
JAM JM 388 Jamaica
JPN JP 392 Japan
JEY JE 832 Jersey
JOR JO 400 Jordan
KAZ KZ 398 Kazakhstan
KEN KE 404 Kenya
KIR KI 296 Kiribati
PRK KP 408 Korea (Democratic People's Republic of)
KOR KR 410 Korea, Republic of
KWT KW 414 Kuwait
KGZ KG 417 Kyrgyzstan
LAO LA 418 Lao People's Democratic Republic
LVA LV 428 Latvia
LBN LB 422 Lebanon
LSO LS 426 Lesotho
LBR LR 430 Liberia
LBY LY 434 Libya
LIE LI 438 Liechtenstein
LTU LT 440 Lithuania
LUX LU 442 Luxembourg
MAC MO 446 Macao
MDG MG 450 Madagascar
MWI MW 454 Malawi
MYS MY 458 Malaysia
MDV MV 462 Maldives
MLI ML 466 Mali
MLT MT 470 Malta
MHL MH 584 Marshall Islands
MTQ MQ 474 Martinique
MRT MR 478 Mauritania
MUS MU 480 Mauritius
MYT YT 175 Mayotte
MEX MX 484 Mexico
FSM FM 583 Micronesia (Federated States of)
MDA MD 498 Moldova, Republic of
MCO MC 492 Monaco
MNG MN 496 Mongolia
MNE ME 499 Montenegro
MSR MS 500 Montserrat
MAR MA 504 Morocco
MOZ MZ 508 Mozambique
MMR MM 104 Myanmar
NAM NA 516 Namibia
NRU NR 520 Nauru
NPL NP 524 Nepal
NLD NL 528 Netherlands
NCL NC 540 New Caledonia
NZL NZ 554 New Zealand
NIC NI 558 Nicaragua
NER NE 562 Niger
NGA NG 566 Nigeria
NIU NU 570 Niue
NFK NF 574 Norfolk Island
MKD MK 807 North Macedonia
MNP MP 580 Northern Mariana Islands
NOR NO 578 Norway
OMN OM 512 Oman
PAK PK 586 Pakistan
PLW PW 585 Palau
PSE PS 275 Palestine, State of
PAN PA 591 Panama
PNG PG 598 Papua New Guinea
PRY PY 600 Paraguay
PER PE 604 Peru
PHL PH 608 Philippines
PCN PN 612 Pitcairn
POL PL 616 Poland
PRT PT 620 Portugal
PRI PR 630 Puerto Rico
QAT QA 634 Qatar
REU RE 638 Réunion
ROU RO 642 Romania
RUS RU 643 Russian Federation
RWA RW 646 Rwanda
BLM BL 652 Saint Barthélemy
SHN SH 654 Saint Helena, Ascension and Tristan da Cunha
KNA KN 659 Saint Kitts and Nevis
LCA LC 662 Saint Lucia
MAF MF 663 Saint Martin (French part)
SPM PM 666 Saint Pierre and Miquelon
VCT VC 670 Saint Vincent and the Grenadines
WSM WS 882 Samoa
SMR SM 674 San Marino
STP ST 678 Sao Tome and Principe
SAU SA 682 Saudi Arabia
SEN SN 686 Senegal
SRB RS 688 Serbia
SYC SC 690 Seychelles
SLE SL 694 Sierra Leone
SGP SG 702 Singapore
SXM SX 534 Sint Maarten (Dutch part)
SVK SK 703 Slovakia
SVN SI 705 Slovenia
SLB SB 090 Solomon Islands
SOM SO 706 Somalia
ZAF ZA 710 South Africa
SGS GS 239 South Georgia and the South Sandwich Islands
SSD SS 728 South Sudan
ESP ES 724 Spain
LKA LK 144 Sri Lanka
SDN SD 729 Sudan
SUR SR 740 Suriname
SJM SJ 744 Svalbard and Jan Mayen
SWE SE 752 Sweden
CHE CH 756 Switzerland
SYR SY 760 Syrian Arab Republic
TWN TW 158 Taiwan, Province of China
TJK TJ 762 Tajikistan
TZA TZ 834 Tanzania, United Republic of
THA TH 764 Thailand
TLS TL 626 Timor-Leste
TGO TG 768 Togo
TKL TK 772 Tokelau
TON TO 776 Tonga
TTO TT 780 Trinidad and Tobago
TUN TN 788 Tunisia
TUR TR 792 Türkiye
TKM TM 795 Turkmenistan
TCA TC 796 Turks and Caicos Islands
TUV TV 798 Tuvalu
UGA UG 800 Uganda
UKR UA 804 Ukraine
ARE AE 784 United Arab Emirates
GBR GB 826 United Kingdom of Great Britain and Northern Ireland
USA US 840 United States of America
UMI UM 581 United States Minor Outlying Islands
URY UY 858 Uruguay
UZB UZ 860 Uzbekistan
VUT VU 548 Vanuatu
VEN VE 862 Venezuela (Bolivarian Republic of)
VNM VN 704 Viet Nam
VGB VG 092 Virgin Islands (British)
VIR VI 850 Virgin Islands (U.S.)
WLF WF 876 Wallis and Futuna
ESH EH 732 Western Sahara
YEM YE 887 Yemen
ZMB ZM 894 Zambia
ZWE ZW 716 Zimbabwe
"""

# User-assigned code in wide use (World Bank, IMF, European Commission); not in ISO 3166-1.
USER_ASSIGNED = """\
XKX XK --- Kosovo
"""

# Former states (ISO 3166-3 and trade-statistics codes). They stay their own code: each either
# split into several successors or merged into another state, so no single successor exists for
# the whole territory. Columns: alpha-3, alpha-2 ("--" when ambiguous or none), numeric
# ("---" if none), name.
FORMER_STATES = """\
ANT AN 530 Netherlands Antilles
BLX -- 058 Belgium-Luxembourg
CSK -- 200 Czechoslovakia
DDR DD 278 German Democratic Republic
SCG -- 891 Serbia and Montenegro
SUN SU 810 USSR
YMD -- 720 Yemen, Democratic
YUG YU 890 Yugoslavia
"""

# Historical or non-standard alpha-3 codes of a country that still exists under another code.
ALPHA3_RENAMED: dict[str, str] = {
    "ROM": "ROU",  # Romania (ISO changed 2002; still used by CEPII GeoDist and Yotov et al.)
    "ZAR": "COD",  # Zaire -> Democratic Republic of the Congo (1997)
    "TMP": "TLS",  # East Timor -> Timor-Leste (2002)
    "BUR": "MMR",  # Burma -> Myanmar (1989)
    "DHY": "BEN",  # Dahomey -> Benin (1975)
    "UPV": "BFA",  # Upper Volta -> Burkina Faso (1984)
    "NHB": "VUT",  # New Hebrides -> Vanuatu (1980)
    "PAL": "PSE",  # Palestine, CEPII code
    "WBG": "PSE",  # West Bank and Gaza, former World Bank code
    "ADO": "AND",  # Andorra, former World Bank code
    "IMY": "IMN",  # Isle of Man, former World Bank code
    "KSV": "XKX",  # Kosovo, IMF code
}

# Historical or non-standard alpha-2 codes.
ALPHA2_RENAMED: dict[str, str] = {
    "UK": "GBR",  # Eurostat
    "EL": "GRC",  # Eurostat
    "ZR": "COD",
    "TP": "TLS",
    "BU": "MMR",
    "FQ": "ATF",  # French Southern and Antarctic Territories (ISO 3166-3)
}

# Numeric codes of trade statistics (UN Comtrade, CEPII BACI) that differ from ISO 3166-1: the
# country groupings used for reporting, and the continuing state of a former one.
NUMERIC_EXTRA: dict[int, str] = {
    251: "FRA",  # France incl. Monaco
    381: "ITA",  # Italy incl. San Marino and the Holy See
    579: "NOR",  # Norway incl. Svalbard and Jan Mayen
    699: "IND",  # India (trade-statistics code)
    711: "ZAF",  # Southern African Customs Union, reported by South Africa (CEPII convention)
    736: "SDN",  # Former Sudan (before South Sudan's independence in 2011): continuing state
    757: "CHE",  # Switzerland incl. Liechtenstein
    842: "USA",  # USA incl. Puerto Rico and the US Virgin Islands
    280: "DEU",  # Former Federal Republic of Germany: continuing state of Germany
}

# Name variants (CEPII, UN Comtrade, World Bank, common English) -> alpha-3. Names are matched
# after normalization (accents removed, case folded, punctuation dropped), see countries.py.
NAME_ALIASES: dict[str, str] = {
    "Bahamas, The": "BHS",
    "France, Monaco": "FRA",
    "Norway, Svalbard and Jan Mayen": "NOR",
    "Southern African Customs Union": "ZAF",
    "So. African Customs Union": "ZAF",
    "Switzerland, Liechtenstein": "CHE",
    "USA, Puerto Rico and US Virgin Islands": "USA",
    "Netherland Antilles": "ANT",
    "Netherlands Antilles": "ANT",
    "French Southern Antartic territories": "ATF",
    "Belgium and Luxembourg": "BLX",
    "Falkland Islands": "FLK",
    "Kazakstan": "KAZ",
    "Korea": "KOR",
    "Libyan Arab Jamahiriya": "LBY",
    "Macau (Aomen)": "MAC",
    "Moldova, Rep.of": "MDA",
    "Macedonia (the former Yugoslav Rep. of)": "MKD",
    "Korea, Dem. People's Rep. of": "PRK",
    "St. Pierre and Miquelon": "SPM",
    "Tanzania, United Rep. of": "TZA",
    "Puerto Rico (US)": "PRI",
    "Somalia, Fed. Rep.": "SOM",
    "Belgium-Luxembourg": "BLX",
    "Bolivia": "BOL",
    "Bosnia Herzegovina": "BIH",
    "Br. Indian Ocean Terr.": "IOT",
    "British Indian Ocean Territories": "IOT",
    "Br. Virgin Isds": "VGB",
    "British Virgin Islands": "VGB",
    "Brunei": "BRN",
    "Burma": "MMR",
    "Cape Verde": "CPV",
    "Cayman Isds": "CYM",
    "Central African Rep.": "CAF",
    "China, Hong Kong SAR": "HKG",
    "China, Hong Kong Special Administrative Region": "HKG",
    "China, Macao SAR": "MAC",
    "China, Macao Special Administrative Region": "MAC",
    "Christmas Isds": "CXR",
    "Christmas Islands": "CXR",
    "Cocos Isds": "CCK",
    "Cocos Islands": "CCK",
    "Congo, Dem. Rep.": "COD",
    "Congo, Rep.": "COG",
    "Cook Isds": "COK",
    "Czech Republic": "CZE",
    "Czechoslovakia": "CSK",
    "Dem. People's Rep. of Korea": "PRK",
    "Democratic People's Republic of Korea": "PRK",
    "Dem. Rep. of the Congo": "COD",
    "Democratic Republic of the Congo": "COD",
    "Dominican Rep.": "DOM",
    "East Timor": "TLS",
    "Egypt, Arab Rep.": "EGY",
    "Falkland Isds (Malvinas)": "FLK",
    "Federated State of Micronesia": "FSM",
    "Fmr Dem. Rep. of Germany": "DDR",
    "Former Democratic Republic of Germany": "DDR",
    "Fmr Fed. Rep. of Germany": "DEU",
    "Former Federal Republic of Germany": "DEU",
    "Fmr Sudan": "SDN",
    "Former Sudan": "SDN",
    "Fmr USSR": "SUN",
    "Former USSR": "SUN",
    "Fr. South Antarctic Terr.": "ATF",
    "French South Antarctic Territories": "ATF",
    "FS Micronesia": "FSM",
    "Gambia, The": "GMB",
    "Hong Kong SAR, China": "HKG",
    "Iran": "IRN",
    "Iran, Islamic Rep.": "IRN",
    "Ivory Coast": "CIV",
    "Korea, Dem. People's Rep.": "PRK",
    "Korea, Rep.": "KOR",
    "Kyrgyz Republic": "KGZ",
    "Lao PDR": "LAO",
    "Lao People's Dem. Rep.": "LAO",
    "Laos": "LAO",
    "Macao SAR, China": "MAC",
    "Macedonia": "MKD",
    "Marshall Isds": "MHL",
    "Micronesia, Fed. Sts.": "FSM",
    "Moldova": "MDA",
    "N. Mariana Isds": "MNP",
    "Neth. Antilles": "ANT",
    "Norfolk Isds": "NFK",
    "Norfolk Islands": "NFK",
    "North Korea": "PRK",
    "Plurinational State of Bolivia": "BOL",
    "Rep. of Korea": "KOR",
    "Republic of Korea": "KOR",
    "Rep. of Moldova": "MDA",
    "Republic of Moldova": "MDA",
    "Russia": "RUS",
    "Saint Helena": "SHN",
    "Saint Maarten": "SXM",
    "Saint Maarten (Dutch part)": "SXM",
    "Bonaire": "BES",
    "Bonaire, Saint Eustatius and Saba": "BES",
    "Serbia and Montenegro": "SCG",
    "Slovak Republic": "SVK",
    "Solomon Isds": "SLB",
    "South Korea": "KOR",
    "St. Kitts and Nevis": "KNA",
    "St. Lucia": "LCA",
    "St. Martin (French part)": "MAF",
    "St. Vincent and the Grenadines": "VCT",
    "State of Palestine": "PSE",
    "Palestine": "PSE",
    "Swaziland": "SWZ",
    "Syria": "SYR",
    "Taiwan": "TWN",
    "Tanzania": "TZA",
    "United Rep. of Tanzania": "TZA",
    "United Republic of Tanzania": "TZA",
    "TFYR of Macedonia": "MKD",
    "The Former Yugoslav Republic of Macedonia": "MKD",
    "Turkey": "TUR",
    "Turkiye": "TUR",
    "Turks and Caicos Isds": "TCA",
    "United Kingdom": "GBR",
    "United States": "USA",
    "USA": "USA",
    "USSR": "SUN",
    "Venezuela": "VEN",
    "Venezuela, RB": "VEN",
    "Vietnam": "VNM",
    "Virgin Islands (U.S.)": "VIR",
    "Wallis and Futuna Isds": "WLF",
    "Wallis and Futuna Islands": "WLF",
    "West Bank and Gaza": "PSE",
    "Yemen, Rep.": "YEM",
    "Yugoslavia": "YUG",
}

# Regional and income-group aggregates of the World Bank WDI (and the "World" rows); they use
# codes that look like ISO3 but are not countries.
WDI_AGGREGATES: frozenset[str] = frozenset(
    """
    AFE AFW ARB CEB CSS EAP EAR EAS ECA ECS EMU EUU FCS HIC HPC IBD IBT IDA IDB IDX INX LAC LCN
    LDC LIC LMC LMY LTE MEA MIC MNA NAC OED OSS PRE PSS PST SAS SSA SSF SST TEA TEC TLA TMN TSA
    TSS UMC WLD
    """.split()
)

"""Fixed choices for profile forms: countries (ISO 3166-1 alpha-2) and skill suggestions."""

from __future__ import annotations

COUNTRIES: dict[str, str] = {
    "AR": "Argentina", "AU": "Australia", "AT": "Austria", "BD": "Bangladesh", "BE": "Belgium",
    "BR": "Brazil", "BG": "Bulgaria", "CA": "Canada", "CL": "Chile", "CN": "China", "CO": "Colombia",
    "HR": "Croatia", "CY": "Cyprus", "CZ": "Czechia", "DK": "Denmark", "EG": "Egypt", "EE": "Estonia",
    "FI": "Finland", "FR": "France", "GE": "Georgia", "DE": "Germany", "GH": "Ghana", "GR": "Greece",
    "HK": "Hong Kong", "HU": "Hungary", "IS": "Iceland", "IN": "India", "ID": "Indonesia",
    "IE": "Ireland", "IL": "Israel", "IT": "Italy", "JP": "Japan", "KE": "Kenya", "LV": "Latvia",
    "LT": "Lithuania", "LU": "Luxembourg", "MY": "Malaysia", "MT": "Malta", "MX": "Mexico",
    "MA": "Morocco", "NL": "Netherlands", "NZ": "New Zealand", "NG": "Nigeria", "NO": "Norway",
    "PK": "Pakistan", "PE": "Peru", "PH": "Philippines", "PL": "Poland", "PT": "Portugal",
    "RO": "Romania", "RS": "Serbia", "SG": "Singapore", "SK": "Slovakia", "SI": "Slovenia",
    "ZA": "South Africa", "KR": "South Korea", "ES": "Spain", "LK": "Sri Lanka", "SE": "Sweden",
    "CH": "Switzerland", "TW": "Taiwan", "TH": "Thailand", "TN": "Tunisia", "TR": "Türkiye",
    "UA": "Ukraine", "AE": "United Arab Emirates", "GB": "United Kingdom", "US": "United States",
    "UY": "Uruguay", "VN": "Vietnam",
}  # fmt: skip

SKILL_SUGGESTIONS = [
    "Accounting", "Android", "Brand design", "Bookkeeping", "Copywriting", "CSS", "Customer support",
    "Data analysis", "Django", "Excel", "Figma", "Go", "Graphic design", "HTML", "Illustration", "iOS",
    "JavaScript", "Kotlin", "Legal writing", "Logo design", "Machine learning", "Marketing", "Mobile apps",
    "Photography", "PHP", "PostgreSQL", "Project management", "Python", "React", "Ruby on Rails", "SEO",
    "Social media", "SQL", "Swift", "Technical writing", "Translation", "TypeScript", "UI design",
    "UX research", "Video editing", "Web design", "WordPress",
]  # fmt: skip

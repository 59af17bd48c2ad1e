"""电子证照: licence types and the licences people and companies hold."""

"""Model engines behind the Engine protocol of summ.translate; imported only when used."""
